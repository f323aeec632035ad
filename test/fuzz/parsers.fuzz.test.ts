// Fuzz of the parsers that read what Baton does not control: the config file (every error at
// file:line:col, never a throw), option ROM images (never a throw, every verdict with its reason),
// EDID blobs, and the output of virsh, xl and xenstore (a result, or the parser's own typed error).
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../app/domain/config/index.js';
import { parseEdid } from '../../app/domain/inventory/edid.js';
import { parseRom } from '../../app/domain/vbios/parse.js';
import { DomainXmlError, DomstateFormatError, mapVirshError, parseDomainXml, parseDomstate, parseEventLine, parseXml, XmlSyntaxError } from '../../app/backends/libvirt/index.js';
import { isVmBackendError } from '../../app/domain/vm/errors.js';
import {
  parseAssignableList, parseXenstoreLs, parseXlList, parseXlListLong, parseXlPciList, pciBackendFromEntries, pciBackendsFromEntries, describePciBackend, xenbusState, XenFormatError, XENBUS_STATES,
} from '../../app/backends/xen/parsers.js';
import { simulatedConfigYaml } from '../../app/helper/simulate/config.js';
import { bytesNear, fixtureBytes, fixtureText, textsNear } from './lib/mutate.js';
import { check } from './lib/runs.js';

const fixtures = (folder: string, test: (f: string) => boolean) => readdirSync(new URL(`../fixtures/${folder}`, import.meta.url)).filter(test).map((f) => fixtureText(`${folder}/${f}`));

/** Runs `parse`; a throw must be one of `typed` with a message. Returns the value, or undefined when it threw. */
function typedOrValue<T>(parse: () => T, typed: readonly (abstract new (...a: never[]) => Error)[]): T | undefined {
  try {
    return parse();
  } catch (err) {
    if (!typed.some((t) => err instanceof t)) throw new Error(`threw an untyped ${(err as Error)?.constructor?.name ?? typeof err}: ${String(err)}`);
    expect((err as Error).message.length).toBeGreaterThan(0);
    return undefined;
  }
}

describe('config files (fuzz)', () => {
  const texts = [...fixtures('config', (f) => f.endsWith('.yaml')), fixtureText('../../assets/baton.example.yaml'), simulatedConfigYaml({ stateDir: '/run/baton' })];
  it('every error is at FILE:LINE:COL inside the file, with a message; never a throw', () => {
    check('config-yaml', { quick: 250, full: 20_000 }, fc.property(textsNear(texts), (text) => {
      const result = parseConfig(text, 'fuzz.yaml');
      if (result.ok) {
        expect(Array.isArray(result.config.gpus)).toBe(true);
        return;
      }
      expect(result.errors.length).toBeGreaterThan(0);
      const lines = text.split(/\r\n|\r|\n/).length;
      for (const e of result.errors) {
        expect(e.file).toBe('fuzz.yaml');
        expect(Number.isInteger(e.line) && e.line >= 1 && e.line <= lines + 1, `line ${e.line} of ${lines}: ${e.message}`).toBe(true);
        expect(Number.isInteger(e.col) && e.col >= 1, `col ${e.col}: ${e.message}`).toBe(true);
        expect(typeof e.message === 'string' && e.message.trim().length > 0).toBe(true);
      }
    }));
  });
});

describe('option ROM images (fuzz)', () => {
  const roms = ['rom/efi-e1000.rom', 'rom/vgabios-bochs-display.bin', 'rom/vgabios-stdvga.bin'].map(fixtureBytes);
  it('never throws; findings sit inside the data and give reasons; the verdict follows them', () => {
    check('vbios-rom', { quick: 500, full: 30_000 }, fc.property(bytesNear(roms, 8192), (data) => {
      const report = parseRom(data);
      expect(report.size).toBe(data.length);
      for (const f of report.findings) {
        expect(f.message.trim().length, `finding ${f.code} has a reason`).toBeGreaterThan(0);
        expect(Number.isInteger(f.offset) && f.offset >= 0 && f.offset <= data.length, `finding ${f.code} at ${f.offset} of ${data.length}`).toBe(true);
      }
      const errors = report.findings.filter((f) => f.severity === 'error');
      if (report.verdict === 'valid') expect(errors, 'a valid ROM has no errors').toEqual([]);
      else expect(errors.length, `verdict ${report.verdict} names its reason`).toBeGreaterThan(0);
      if (report.verdict === 'correctable') expect(errors.every((f) => f.code === 'leading-bytes')).toBe(true);
      for (const image of report.images) expect(image.offset >= 0 && image.offset < data.length).toBe(true);
    }));
  });
});

describe('EDID blobs (fuzz)', () => {
  // The QEMU monitor's EDID as the captured sysfs tree holds it is binary; build a valid base block here.
  const base = new Uint8Array(128);
  base.set([0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x49, 0x14, 0x34, 0x12, 0, 0, 0, 0, 0x2a, 0x18, 1, 4]);
  base.set([0x00, 0x00, 0x00, 0xfc, 0x00, ...Buffer.from('QEMU Monitor\n')], 72);
  base.set([0x02, 0x3a, 0x80, 0x18, 0x71, 0x38, 0x2d, 0x40], 54);
  base[127] = (256 - (base.reduce((s, b) => s + b, 0) % 256)) % 256;
  const blobs = [base, Uint8Array.from([...base, ...new Uint8Array(128)])];
  it('never throws: a parsed EDID of printable fields, or a reason', () => {
    check('edid', { quick: 2000, full: 50_000 }, fc.property(bytesNear(blobs, 400), (bytes) => {
      const r = parseEdid(bytes);
      if (!r.ok) return void expect(r.reason.trim().length).toBeGreaterThan(0);
      expect(r.edid.manufacturerId).toMatch(/^[\x40-\x5f]{3}$/);
      for (const t of [r.edid.monitorName, r.edid.serialText]) if (t !== null) expect(t).toMatch(/^[\x20-\x7e]+$/);
      if (r.edid.preferredMode) expect(Number.isFinite(r.edid.preferredMode.refreshHz)).toBe(true);
    }));
  });
});

describe('virsh output (fuzz)', () => {
  const domstates = fixtures('libvirt', (f) => f.startsWith('domstate') && f.endsWith('.txt'));
  const xmls = fixtures('libvirt', (f) => f.endsWith('.xml'));
  const events = fixtures('libvirt', (f) => f === 'events.txt');
  const stderrs = fixtures('libvirt', (f) => f.endsWith('.stderr.txt'));
  it('domstate: a state or DomstateFormatError', () => {
    check('virsh-domstate', { quick: 1500, full: 30_000 }, fc.property(textsNear(domstates), (text) => {
      const s = typedOrValue(() => parseDomstate(text), [DomstateFormatError]);
      if (s) expect(['running', 'paused', 'shut-off', 'crashed', 'starting', 'unknown']).toContain(s.state);
    }));
  });
  it('dumpxml: facts, or XmlSyntaxError / DomainXmlError', () => {
    check('virsh-dumpxml', { quick: 800, full: 20_000 }, fc.property(textsNear(xmls), (text) => {
      typedOrValue(() => parseXml(text), [XmlSyntaxError]);
      const facts = typedOrValue(() => parseDomainXml(text), [XmlSyntaxError, DomainXmlError]);
      if (facts) for (const h of facts.hostdevs) expect(h.host).toMatch(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/);
    }));
  });
  it('event lines: an event or null, never a throw', () => {
    check('virsh-events', { quick: 1500, full: 30_000 }, fc.property(textsNear(events), (text) => {
      for (const line of text.split('\n')) {
        const e = parseEventLine(line);
        if (e) expect(['lifecycle', 'device-removed', 'device-removal-failed', 'other']).toContain(e.kind);
      }
    }));
  });
  it('error stderr: always a typed VmBackendError with a message', () => {
    check('virsh-errors', { quick: 400, full: 30_000 }, fc.property(textsNear(stderrs), fc.string({ maxLength: 10 }), (stderr, vm) => {
      const e = mapVirshError({ vm, command: 'attach-device', stderr });
      expect(isVmBackendError(e)).toBe(true);
      expect(e.message).toContain('virsh attach-device');
    }));
  });
});

describe('xl and xenstore output (fuzz)', () => {
  const lists = fixtures('xen', (f) => /^xl-list(-paused)?\.txt$/.test(f));
  const longs = fixtures('xen', (f) => f.startsWith('xl-list-l'));
  const pciLists = fixtures('xen', (f) => f.startsWith('xl-pci-list'));
  const assignable = fixtures('xen', (f) => f.startsWith('xl-pci-assignable-list'));
  const xenstore = fixtures('xen', (f) => f.startsWith('xenstore-ls') && !f.includes('stderr'));
  it('xl list / list -l / pci-list / pci-assignable-list: rows, or XenFormatError', () => {
    check('xl-output', { quick: 1500, full: 40_000 }, fc.property(textsNear(lists), textsNear(longs), textsNear(pciLists), textsNear(assignable), (l, ll, p, a) => {
      const rows = typedOrValue(() => parseXlList(l), [XenFormatError]);
      for (const r of rows ?? []) expect(Number.isInteger(r.domid) && r.domid >= 0, `domid ${r.domid}`).toBe(true);
      typedOrValue(() => parseXlListLong(ll), [XenFormatError]);
      typedOrValue(() => parseXlPciList(p), [XenFormatError]);
      typedOrValue(() => parseAssignableList(a), [XenFormatError]);
    }));
  });
  it('xenstore-ls and the pciback state read from it: entries, or XenFormatError', () => {
    check('xenstore', { quick: 1500, full: 40_000 }, fc.property(textsNear(xenstore), fc.integer({ min: 0, max: 70_000 }), (text, domid) => {
      const entries = typedOrValue(() => parseXenstoreLs(text), [XenFormatError]);
      if (!entries) return;
      const one = typedOrValue(() => pciBackendFromEntries(entries, domid), [XenFormatError]);
      if (one) expect(describePciBackend(one).length).toBeGreaterThan(0);
      for (const b of typedOrValue(() => pciBackendsFromEntries(entries), [XenFormatError]) ?? []) expect(describePciBackend(b).length).toBeGreaterThan(0);
      for (const v of entries.values()) expect(XENBUS_STATES.includes(xenbusState(v).name as never) || xenbusState(v).name === 'Invalid').toBe(true);
    }));
  });
});
