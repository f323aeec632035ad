// The vbios commands end to end on real ROM files and a sysfs-shaped folder: output, --json and exit status.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runVbiosCapture, runVbiosCheck, runVbiosFix, runVbiosImport, runVbiosList } from '../../../app/cli/commands/vbios.js';
import { UserError } from '../../../app/cli/output.js';
import { fakeSysfs, recordingFs, removeTempDirs, tempDir } from './fake-sysfs.js';
import { concat, fixturePath, garbage, loadRom } from './rom-fixtures.js';

const VGA = { address: '0000:01:00.0', vendor: 0x1234, device: 0x1111, classCode: 0x030000 };

function collect() {
  const chunks: string[] = [];
  return { out: (t: string) => void chunks.push(t), text: () => chunks.join('') };
}

function writeTemp(name: string, bytes: Uint8Array): string {
  const path = join(tempDir('cli'), name);
  writeFileSync(path, bytes);
  return path;
}

afterEach(removeTempDirs);

describe('baton vbios check', () => {
  it('exits 0 for a valid ROM and prints its image table', () => {
    const o = collect();
    expect(runVbiosCheck(fixturePath('efi-e1000.rom'), {}, o.out)).toBe(0);
    expect(o.text()).toMatch(/valid, 2 images/);
    expect(o.text()).toMatch(/x86\s+8086:100e/);
    expect(o.text()).toMatch(/efi\s+8086:100e/);
  });

  it('exits 1 for a truncated ROM and prints the finding', () => {
    const rom = loadRom('efi-e1000.rom');
    const o = collect();
    expect(runVbiosCheck(writeTemp('cut.rom', rom.subarray(0, 0x20000)), {}, o.out)).toBe(1);
    expect(o.text()).toMatch(/error\s+0x[0-9a-f]+\s+truncated:/);
  });

  it('exits 1 for a ROM with a header and points to fix', () => {
    const o = collect();
    const file = writeTemp('dump.rom', concat(garbage(0x200), loadRom('vgabios-stdvga.bin')));
    expect(runVbiosCheck(file, {}, o.out)).toBe(1);
    expect(o.text()).toContain('correctable');
    expect(o.text()).toContain(`baton vbios fix ${file}`);
  });

  it('--for compares with the ids in sysfs', () => {
    const { root } = fakeSysfs({ ...VGA, vendor: 0x10de, device: 0x1b80 });
    const o = collect();
    expect(runVbiosCheck(fixturePath('vgabios-stdvga.bin'), { for: '01:00.0', sysfs: root }, o.out)).toBe(1);
    expect(o.text()).toMatch(/vendor-mismatch: .*1234:1111.*10de:1b80/);
    const match = fakeSysfs(VGA);
    expect(runVbiosCheck(fixturePath('vgabios-stdvga.bin'), { for: VGA.address, sysfs: match.root }, collect().out)).toBe(0);
  });

  it('--json gives verdict, images, findings and the device', () => {
    const { root } = fakeSysfs(VGA);
    const o = collect();
    runVbiosCheck(fixturePath('vgabios-stdvga.bin'), { for: VGA.address, sysfs: root, json: true }, o.out);
    const result = JSON.parse(o.text());
    expect(result).toMatchObject({ verdict: 'valid', findings: [], device: { address: VGA.address, vendor: '1234', device: '1111', class: '030000' } });
    expect(result.images[0]).toMatchObject({ vendor: 0x1234, device: 0x1111, codeTypeName: 'x86' });
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('turns a bad address into a user error', () => {
    expect(() => runVbiosCheck(fixturePath('vgabios-stdvga.bin'), { for: 'gpu0' }, collect().out)).toThrow(UserError);
  });
});

describe('baton vbios capture', () => {
  it('saves a valid capture into the store with its sidecar', () => {
    const { root } = fakeSysfs({ ...VGA, rom: loadRom('vgabios-stdvga.bin'), bootVga: true });
    const store = join(tempDir('store'), 'vbios');
    const o = collect();
    expect(runVbiosCapture(VGA.address, { sysfs: root, store, json: true }, o.out, recordingFs())).toBe(0);
    const result = JSON.parse(o.text());
    expect(result).toMatchObject({ address: VGA.address, shadow: true, verdict: 'valid', saved: { duplicate: false } });
    expect(JSON.parse(readFileSync(result.saved.sidecar, 'utf8'))).toMatchObject({ source: 'captured', pciAddress: VGA.address, shadow: true });
  });

  it('--out writes the bytes to the file, even an invalid capture, and exits 1 for it', () => {
    const rom = loadRom('vgabios-stdvga.bin');
    const cut = rom.subarray(0, rom.length - 1024);
    const { root } = fakeSysfs({ ...VGA, rom: cut });
    const out = join(tempDir('out'), 'gpu.rom');
    expect(runVbiosCapture(VGA.address, { sysfs: root, out }, collect().out, recordingFs())).toBe(1);
    expect(readFileSync(out).equals(Buffer.from(cut))).toBe(true);
  });

  it('does not store an invalid capture', () => {
    const rom = loadRom('vgabios-stdvga.bin');
    const { root } = fakeSysfs({ ...VGA, rom: rom.subarray(0, 4096) });
    const store = join(tempDir('store'), 'vbios');
    const o = collect();
    expect(runVbiosCapture(VGA.address, { sysfs: root, store }, o.out, recordingFs())).toBe(1);
    expect(o.text()).toContain('not stored');
    expect(existsSync(store)).toBe(false);
  });

  it('reports a read failure as a user error naming the device', () => {
    const { root } = fakeSysfs({ ...VGA, rom: loadRom('vgabios-stdvga.bin') });
    expect(() => runVbiosCapture(VGA.address, { sysfs: root }, collect().out, recordingFs({ read: 'EIO' }))).toThrow(/0000:01:00\.0.*EIO/);
  });
});

describe('baton vbios fix, import, list', () => {
  it('fix writes the image without the header', () => {
    const rom = loadRom('efi-e1000.rom');
    const file = writeTemp('dump.rom', concat(garbage(0x400), rom));
    const out = join(tempDir('out'), 'fixed.rom');
    const o = collect();
    expect(runVbiosFix(file, { out }, o.out)).toBe(0);
    expect(readFileSync(out).equals(Buffer.from(rom))).toBe(true);
    expect(o.text()).toContain('cut 1024 leading bytes');
  });

  it('fix refuses a ROM that is not correctable', () => {
    const file = writeTemp('ok.rom', loadRom('vgabios-stdvga.bin'));
    expect(() => runVbiosFix(file, { out: join(tempDir('out'), 'x.rom') }, collect().out)).toThrow(/nothing to correct/);
  });

  it('import then list shows the stored ROM', () => {
    const store = join(tempDir('store'), 'vbios');
    expect(runVbiosImport(fixturePath('vgabios-bochs-display.bin'), { store }, collect().out)).toBe(0);
    const o = collect();
    runVbiosList({ store, json: true }, o.out);
    const listed = JSON.parse(o.text());
    expect(listed).toHaveLength(1);
    expect(listed[0].metadata).toMatchObject({ vendor: '1234', device: '1111', source: 'imported' });
  });
});
