// Facts the backend needs from a libvirt domain XML (virsh dumpxml): PCI hostdevs, device aliases,
// hot-pluggable root ports and which of their buses are taken.
import { formatPciAddress, type PciAddress } from '../../domain/pci-address.js';
import { child, parseXml, type XmlElement } from './xml.js';

export interface GuestPciAddress {
  bus: number;
  slot: number;
  function: number;
  multifunction: boolean;
}

export interface PciHostdev {
  host: PciAddress;
  /** libvirt's device alias (ours are "ua-baton-gpu-…"; libvirt names others "hostdevN"); live XML only. */
  alias: string | null;
  guest: GuestPciAddress | null;
}

export interface RootPort {
  index: number;
  /** The controller's alias, which is also QEMU's bus id: "pci.N". */
  alias: string;
}

export interface DomainFacts {
  name: string;
  /** The live XML of a running domain carries id='N'; the inactive definition does not. */
  active: boolean;
  hostdevs: PciHostdev[];
  aliases: string[];
  rootPorts: RootPort[];
  /** PCI bus numbers some device sits on. */
  usedBuses: Set<number>;
}

export class DomainXmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DomainXmlError';
  }
}

const NUMBER = /^(?:0x[0-9a-fA-F]+|[0-9]+)$/;

function numberAttribute(element: XmlElement, key: string, max: number): number {
  const text = element.attributes[key];
  if (text === undefined || !NUMBER.test(text)) throw new DomainXmlError(`<${element.name}> has no numeric ${key} (got ${JSON.stringify(text ?? null)})`);
  const value = text.startsWith('0x') ? parseInt(text, 16) : Number(text);
  if (value > max) throw new DomainXmlError(`<${element.name}> ${key}=${text} is out of range (max ${max})`);
  return value;
}

function pciAddress(element: XmlElement): PciAddress {
  return formatPciAddress(
    numberAttribute(element, 'domain', 0xffff), numberAttribute(element, 'bus', 0xff),
    numberAttribute(element, 'slot', 0x1f), numberAttribute(element, 'function', 7),
  );
}

function guestAddress(device: XmlElement): GuestPciAddress | null {
  const address = child(device, 'address');
  if (address?.attributes.type !== 'pci') return null;
  return {
    bus: numberAttribute(address, 'bus', 0xff),
    slot: numberAttribute(address, 'slot', 0x1f),
    function: numberAttribute(address, 'function', 7),
    multifunction: address.attributes.multifunction === 'on',
  };
}

function aliasOf(device: XmlElement): string | null {
  return child(device, 'alias')?.attributes.name ?? null;
}

/** Reads a domain XML; throws XmlSyntaxError or DomainXmlError on anything it cannot trust. */
export function parseDomainXml(xml: string): DomainFacts {
  const root = parseXml(xml);
  if (root.name !== 'domain') throw new DomainXmlError(`root element is <${root.name}>, not <domain>`);
  const name = child(root, 'name')?.text.trim();
  if (!name) throw new DomainXmlError('<domain> has no <name>');
  const id = root.attributes.id;
  if (id !== undefined && !/^-?[0-9]+$/.test(id)) throw new DomainXmlError(`<domain id=${JSON.stringify(id)}> is not a number`);
  const devices = child(root, 'devices')?.children ?? [];

  const hostdevs: PciHostdev[] = [];
  for (const device of devices) {
    if (device.name !== 'hostdev' || device.attributes.mode !== 'subsystem' || device.attributes.type !== 'pci') continue;
    const source = child(device, 'source');
    const address = source && child(source, 'address');
    if (!address) throw new DomainXmlError('PCI <hostdev> without <source><address>');
    hostdevs.push({ host: pciAddress(address), alias: aliasOf(device), guest: guestAddress(device) });
  }

  const rootPorts = devices
    .filter((c) => c.name === 'controller' && c.attributes.type === 'pci' && c.attributes.model === 'pcie-root-port')
    .map((c) => {
      const index = numberAttribute(c, 'index', 0xff);
      return { index, alias: aliasOf(c) ?? `pci.${index}` };
    });

  const usedBuses = new Set<number>();
  for (const device of devices) {
    const guest = guestAddress(device);
    if (guest) usedBuses.add(guest.bus);
  }

  return {
    name,
    active: id !== undefined && id !== '-1',
    hostdevs,
    aliases: devices.map(aliasOf).filter((a): a is string => a !== null),
    rootPorts,
    usedBuses,
  };
}

/** Root ports with nothing on their bus, lowest index first. */
export function freeRootPorts(facts: DomainFacts): RootPort[] {
  return facts.rootPorts.filter((p) => !facts.usedBuses.has(p.index)).sort((a, b) => a.index - b.index);
}
