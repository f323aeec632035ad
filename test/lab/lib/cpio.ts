// Writes a gzipped "newc" cpio archive: the format the kernel unpacks as an initramfs.
import { gzipSync } from 'node:zlib';

export type CpioEntry =
  | { kind: 'dir'; path: string }
  | { kind: 'file'; path: string; data: Buffer; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number };

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const padTo4 = (length: number): Buffer => Buffer.alloc((4 - (length % 4)) % 4);

function record(ino: number, mode: number, name: string, data: Buffer, rdev: [number, number] = [0, 0]): Buffer {
  const nameBytes = Buffer.from(`${name}\0`);
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0];
  const head = Buffer.concat([Buffer.from(`070701${fields.map(hex8).join('')}`), nameBytes]);
  return Buffer.concat([head, padTo4(head.length), data, padTo4(data.length)]);
}

export function gzippedCpio(entries: CpioEntry[]): Buffer {
  const records = entries.map((entry, i) => {
    const name = entry.path.replace(/^\/+/, '');
    const ino = i + 1;
    switch (entry.kind) {
      case 'dir': return record(ino, 0o040755, name, Buffer.alloc(0));
      case 'file': return record(ino, 0o100000 | (entry.mode ?? 0o644), name, entry.data);
      case 'symlink': return record(ino, 0o120777, name, Buffer.from(entry.target));
      case 'chardev': return record(ino, 0o020600, name, Buffer.alloc(0), [entry.major, entry.minor]);
    }
  });
  records.push(record(0, 0, 'TRAILER!!!', Buffer.alloc(0)));
  return gzipSync(Buffer.concat(records));
}
