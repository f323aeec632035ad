// Parsers on real virsh output captured from libvirtd 9.0 (test/fixtures/libvirt/capture.sh) and on malformed input.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  VmCommandFailedError, VmConnectionLostError, VmDeviceBusyError, VmNotFoundError, VmNotRunningError,
} from '../../../../app/domain/vm/errors.js';
import { DomainXmlError, freeRootPorts, parseDomainXml } from '../../../../app/backends/libvirt/domain-xml.js';
import { DomstateFormatError, parseDomstate } from '../../../../app/backends/libvirt/domstate.js';
import { parseEventLine } from '../../../../app/backends/libvirt/event-lines.js';
import { mapVirshError } from '../../../../app/backends/libvirt/virsh-errors.js';
import { XmlSyntaxError, parseXml } from '../../../../app/backends/libvirt/xml.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures/libvirt');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

describe('domstate', () => {
  it.each([
    ['domstate-defined.txt', 'shut-off', 'shut off (unknown)'],
    ['domstate-plain-shut-off.txt', 'shut-off', 'shut off'],
    ['domstate-running.txt', 'running', 'running (booted)'],
    ['domstate-paused.txt', 'paused', 'paused (user)'],
    ['domstate-resumed.txt', 'running', 'running (unpaused)'],
    ['domstate-destroyed.txt', 'shut-off', 'shut off (destroyed)'],
  ])('%s → %s', (file, state, raw) => {
    expect(parseDomstate(fixture(file))).toEqual({ state, raw });
  });

  it.each([
    ['idle', 'running'], ['in shutdown (user)', 'running'], ['crashed (panicked)', 'crashed'],
    ['pmsuspended (unknown)', 'paused'], ['no state', 'unknown'], ['paused (starting up)', 'starting'],
  ])('maps the documented word %j to %s', (line, state) => {
    expect(parseDomstate(`${line}\n\n`)).toEqual({ state, raw: line });
  });

  it.each(['', 'runnin', 'running (booted', 'shut off (a) (b)', 'Running', 'error: failed to get domain', 'running\nextra'])(
    'rejects %j', (output) => {
      expect(() => parseDomstate(output)).toThrow(DomstateFormatError);
    });
});

describe('domain XML', () => {
  it('reads a live domain: active, aliases, root ports and the buses in use', () => {
    const facts = parseDomainXml(fixture('dumpxml-live-nic.xml'));
    expect(facts.name).toBe('baton-fixture');
    expect(facts.active).toBe(true);
    expect(facts.hostdevs).toEqual([]);
    expect(facts.aliases).toEqual(expect.arrayContaining(['pcie.0', 'pci.1', 'pci.2', 'pci.3', 'ua-fixture-nic']));
    expect(facts.rootPorts).toEqual([{ index: 1, alias: 'pci.1' }, { index: 2, alias: 'pci.2' }, { index: 3, alias: 'pci.3' }]);
    // The NIC went onto the first root port's bus; the root ports themselves sit on bus 0.
    expect([...facts.usedBuses].sort()).toEqual([0, 1]);
    expect(freeRootPorts(facts).map((p) => p.alias)).toEqual(['pci.2', 'pci.3']);
  });

  it('reads PCI hostdevs of a definition, with escaped ROM path and guest addresses', () => {
    const facts = parseDomainXml(fixture('dumpxml-inactive-gpu.xml'));
    expect(facts.active).toBe(false);
    expect(facts.hostdevs).toEqual([
      { host: '0000:0a:00.0', alias: 'ua-baton-gpu-0000-0a-00-0', guest: { bus: 2, slot: 0, function: 0, multifunction: true } },
      { host: '0000:0a:00.1', alias: null, guest: { bus: 2, slot: 0, function: 1, multifunction: false } },
    ]);
    // An inactive definition has no controller aliases: libvirt's naming is derived from the index.
    expect(freeRootPorts(facts).map((p) => p.alias)).toEqual(['pci.1', 'pci.3']);
    const rom = parseXml(fixture('dumpxml-inactive-gpu.xml')).children.find((c) => c.name === 'devices')
      ?.children.find((c) => c.name === 'hostdev')?.children.find((c) => c.name === 'rom');
    expect(rom?.attributes.file).toBe('/var/lib/baton/vbios/a&b.rom');
  });

  const live = fixture('dumpxml-live-nic.xml');
  it.each([
    ['truncated', live.slice(0, live.length / 2)],
    ['a closing tag that does not match', live.replace('</devices>', '</device>')],
    ['a bare ampersand', live.replace('<name>baton-fixture</name>', '<name>a & b</name>')],
    ['two roots', `${live}<domain/>`],
    ['a DTD', `<!DOCTYPE x [<!ENTITY e "boom">]>${live}`],
    ['an unquoted attribute', live.replace("type='qemu'", 'type=qemu')],
    ['a duplicate attribute', live.replace("type='qemu'", "type='qemu' type='kvm'")],
    ['text outside the root', `${live}trailing`],
    ['nothing', ''],
  ])('rejects XML with %s', (_what, xml) => {
    expect(() => parseDomainXml(xml)).toThrow(XmlSyntaxError);
  });

  it.each([
    ['a root that is not <domain>', '<network><name>x</name></network>'],
    ['no <name>', "<domain type='qemu'><devices/></domain>"],
    ['a hostdev without a source address', "<domain><name>x</name><devices><hostdev mode='subsystem' type='pci'/></devices></domain>"],
    ['a source function out of range', "<domain><name>x</name><devices><hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x01' slot='0x00' function='0x8'/></source></hostdev></devices></domain>"],
    ['a slot out of range', "<domain><name>x</name><devices><hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x01' slot='0x20' function='0x0'/></source></hostdev></devices></domain>"],
    ['a non-numeric bus', "<domain><name>x</name><devices><hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='one' slot='0x00' function='0x0'/></source></hostdev></devices></domain>"],
    ['a non-numeric id', "<domain id='x'><name>x</name></domain>"],
  ])('rejects a domain with %s', (_what, xml) => {
    expect(() => parseDomainXml(xml)).toThrow(DomainXmlError);
  });
});

describe('virsh event lines', () => {
  it('parses every captured line', () => {
    const parsed = fixture('events.txt').trim().split('\n').map(parseEventLine);
    expect(parsed).toEqual([
      { kind: 'other', domain: 'baton-fixture', event: 'lifecycle', detail: 'Defined Added' },
      { kind: 'other', domain: 'baton-fixture', event: 'lifecycle', detail: 'Undefined Removed' },
      { kind: 'other', domain: 'baton-fixture', event: 'lifecycle', detail: 'Defined Added' },
      { kind: 'lifecycle', domain: 'baton-fixture', state: 'running', raw: 'Resumed Unpaused' },
      { kind: 'lifecycle', domain: 'baton-fixture', state: 'running', raw: 'Started Booted' },
      { kind: 'other', domain: 'baton-fixture', event: 'device-added', detail: 'ua-fixture-nic' },
      { kind: 'lifecycle', domain: 'baton-fixture', state: 'paused', raw: 'Suspended Paused' },
      { kind: 'lifecycle', domain: 'baton-fixture', state: 'running', raw: 'Resumed Unpaused' },
      { kind: 'other', domain: 'baton-fixture', event: 'lifecycle', detail: 'Shutdown Finished after host request' },
      { kind: 'lifecycle', domain: 'baton-fixture', state: 'shut-off', raw: 'Stopped Destroyed' },
    ]);
  });

  it('reads device removal, its failure and a --timestamp prefix; ignores what is not an event', () => {
    expect(parseEventLine("event 'device-removed' for domain 'vm a': ua-baton-gpu-0000-01-00-0"))
      .toEqual({ kind: 'device-removed', domain: 'vm a', alias: 'ua-baton-gpu-0000-01-00-0' });
    expect(parseEventLine("event 'device-removal-failed' for domain 'x': hostdev0"))
      .toEqual({ kind: 'device-removal-failed', domain: 'x', alias: 'hostdev0' });
    expect(parseEventLine("2026-11-23 04:25:01.010+0000: event 'lifecycle' for domain 'x': Crashed Panicked"))
      .toEqual({ kind: 'lifecycle', domain: 'x', state: 'crashed', raw: 'Crashed Panicked' });
    for (const line of ['', 'events received: 3', "event lifecycle for domain x: Started", 'garbage']) expect(parseEventLine(line)).toBeNull();
  });
});

describe('virsh errors', () => {
  const map = (file: string, device?: string) =>
    mapVirshError({ vm: 'vm-a', command: 'cmd', stderr: fixture(file), ...(device ? { device } : {}) });

  it('missing domain → not found, with virsh\'s words', () => {
    const error = map('domstate-missing.stderr.txt');
    expect(error).toBeInstanceOf(VmNotFoundError);
    expect((error as VmNotFoundError).target).toBe('vm');
    expect(error.hypervisorMessage).toBe("failed to get domain 'baton-no-such-domain'");
  });

  it('no daemon → connection error naming the socket', () => {
    const error = map('connect-no-daemon.stderr.txt');
    expect(error).toBeInstanceOf(VmConnectionLostError);
    expect(error.message).toBe("virsh cmd on vm-a: failed to connect to the hypervisor; Failed to connect socket to '/nonexistent/libvirt-sock': No such file or directory");
  });

  it('not running, busy alias, unknown alias, refused function: each its kind, class and device', () => {
    const notRunning = map('suspend-not-running.stderr.txt');
    expect(notRunning).toBeInstanceOf(VmNotRunningError);
    expect(notRunning.hypervisorErrorClass).toBe('Requested operation is not valid');
    const busy = map('attach-duplicate-alias.stderr.txt', '0000:01:00.0');
    expect(busy).toBeInstanceOf(VmDeviceBusyError);
    expect(busy.device).toBe('0000:01:00.0');
    expect(busy.hypervisorErrorClass).toBe('unsupported configuration');
    const unknown = map('detach-unknown-alias.stderr.txt');
    expect(unknown).toBeInstanceOf(VmNotFoundError);
    expect((unknown as VmNotFoundError).target).toBe('device');
    const refused = map('attach-function1.stderr.txt');
    expect(refused).toBeInstanceOf(VmCommandFailedError);
    expect(refused.hypervisorErrorClass).toBe('internal error');
  });

  it('an empty stderr still gives a typed error with a message', () => {
    const error = mapVirshError({ vm: 'vm-a', command: 'start', stderr: '' });
    expect(error).toBeInstanceOf(VmCommandFailedError);
    expect(error.message).toBe('virsh start on vm-a: virsh failed without a message');
  });
});
