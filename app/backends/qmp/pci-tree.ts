// query-pci (qapi/pci.json): the guest-visible PCI tree, flattened with the bridge each function sits behind.
// A bridge whose secondary bus number is still 0 (no firmware or guest has enumerated it) lists no
// devices, so hot-plugged functions behind it cannot be seen here.
import { z } from 'zod';

export interface QueryPciDevice {
  bus: number;
  slot: number;
  function: number;
  qdev_id: string;
  class_info: { class: number; desc?: string | undefined };
  id: { vendor: number; device: number };
  pci_bridge?: { bus: { number: number; secondary: number; subordinate: number }; devices?: QueryPciDevice[] | undefined } | undefined;
}

const deviceSchema: z.ZodType<QueryPciDevice> = z.lazy(() =>
  z.object({
    bus: z.number().int(),
    slot: z.number().int(),
    function: z.number().int(),
    qdev_id: z.string(),
    class_info: z.object({ class: z.number().int(), desc: z.string().optional() }),
    id: z.object({ vendor: z.number().int(), device: z.number().int() }),
    pci_bridge: z.object({
      bus: z.object({ number: z.number().int(), secondary: z.number().int(), subordinate: z.number().int() }),
      devices: z.array(deviceSchema).optional(),
    }).optional(),
  }),
);

const queryPciSchema = z.array(z.object({ bus: z.number().int(), devices: z.array(deviceSchema) }));

export interface GuestPciFunction {
  bus: number;
  slot: number;
  function: number;
  /** Empty for devices created without an id. */
  qdevId: string;
  classCode: number;
  vendor: number;
  device: number;
  /** qdev id of the bridge this function sits behind; null on a root bus. */
  parentBridge: string | null;
  /** For bridges: whether its secondary bus has been numbered (only then are its devices listed). */
  bridgeEnumerated: boolean | null;
}

/** Parses a query-pci "return" value; throws a zod error when the shape is wrong. */
export function parseQueryPci(value: unknown): QueryPciDevice[][] {
  return queryPciSchema.parse(value).map((bus) => bus.devices);
}

export function flattenPciTree(buses: QueryPciDevice[][]): GuestPciFunction[] {
  const out: GuestPciFunction[] = [];
  const walk = (devices: QueryPciDevice[], parentBridge: string | null, depth: number) => {
    // A peer could send a cyclic-looking or absurdly deep tree; real PCI trees are shallow.
    if (depth > 32) return;
    for (const d of devices) {
      out.push({
        bus: d.bus, slot: d.slot, function: d.function, qdevId: d.qdev_id, classCode: d.class_info.class,
        vendor: d.id.vendor, device: d.id.device, parentBridge,
        bridgeEnumerated: d.pci_bridge ? d.pci_bridge.bus.secondary !== 0 : null,
      });
      if (d.pci_bridge?.devices) walk(d.pci_bridge.devices, d.qdev_id, depth + 1);
    }
  };
  for (const devices of buses) walk(devices, null, 0);
  return out;
}
