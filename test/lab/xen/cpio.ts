// A gzipped "newc" cpio archive, the format the kernel unpacks as an initramfs.
import { gzipSync } from 'node:zlib';

export type CpioEntry =
  | { kind: 'dir'; path: string }
  | { kind: 'file'; path: string; data: Buffer; executable?: boolean }
  | { kind: 'symlink'; path: string; target: string };

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);

function record(ino: number, mode: number, name: string, data: Buffer): Buffer {
  const nameBytes = Buffer.from(`${name}\0`);
  const header = Buffer.from(
    '070701' + [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0].map(hex8).join(''),
  );
  const headerAndName = Buffer.concat([header, nameBytes]);
  return Buffer.concat([headerAndName, pad4(headerAndName.length), data, pad4(data.length)]);
}

export function gzippedCpio(entries: CpioEntry[]): Buffer {
  const parts = entries.map((e, i) => {
    const path = e.path.replace(/^\/+/, '');
    switch (e.kind) {
      case 'dir': return record(i + 1, 0o040755, path, Buffer.alloc(0));
      case 'file': return record(i + 1, e.executable ? 0o100755 : 0o100644, path, e.data);
      case 'symlink': return record(i + 1, 0o120777, path, Buffer.from(e.target));
    }
  });
  parts.push(record(0, 0, 'TRAILER!!!', Buffer.alloc(0)));
  return gzipSync(Buffer.concat(parts));
}
