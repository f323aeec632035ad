// DRM connectors (card1-DP-1 ...) of each PCI function, with their EDIDs.
import type { PciAddress } from '../../domain/pci-address.js';
import type { DrmConnector } from '../../domain/inventory/model.js';
import { parseEdid } from '../../domain/inventory/edid.js';
import type { Sysfs } from './sysfs.js';

const CARD = /^card\d+$/;

/** Connectors live under the PCI device: devices/<addr>/drm/cardN/cardN-<type>-<n>. */
export function readConnectors(sysfs: Sysfs, address: PciAddress): DrmConnector[] {
  const base = `bus/pci/devices/${address}/drm`;
  const out: DrmConnector[] = [];
  for (const card of sysfs.list(base).filter((n) => CARD.test(n))) {
    for (const name of sysfs.list(`${base}/${card}`).filter((n) => n.startsWith(`${card}-`))) {
      out.push(readConnector(sysfs, `${base}/${card}/${name}`, name, card, address));
    }
  }
  return out;
}

function readConnector(sysfs: Sysfs, dir: string, connector: string, card: string, pciAddress: PciAddress): DrmConnector {
  const problems: string[] = [];
  const status = sysfs.read(`${dir}/status`);
  if (!status.ok) problems.push(`status: cannot read (${status.reason})`);
  const enabled = sysfs.text(`${dir}/enabled`);
  const edidBytes = sysfs.bytes(`${dir}/edid`);
  let edid: DrmConnector['edid'] = null;
  if (edidBytes && edidBytes.length > 0) {
    const parsed = parseEdid(edidBytes);
    if (parsed.ok) edid = parsed.edid;
    else problems.push(`edid: ${parsed.reason}`);
  }
  return {
    connector,
    card,
    pciAddress,
    status: status.ok ? status.value : null,
    enabled: enabled === 'enabled' ? true : enabled === 'disabled' ? false : null,
    modes: (sysfs.text(`${dir}/modes`) ?? '').split('\n').filter(Boolean),
    edid,
    problems,
  };
}
