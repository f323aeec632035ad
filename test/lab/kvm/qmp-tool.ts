// Runs inside L1 (compiled into dist/ with the project): drives the real QMP backend against a
// nested QEMU ("L2"), and reads a VM's PCI tree over a QMP socket for the lab tests' checks.
//
//   node dist/test/tools/qmp-tool.js cycles SOCKET BUS CYCLES GUEST_SERIAL_LOG OUT_JSON FUNCTION...
//     CYCLES x (QmpBackend.attachGpu, query-pci, the guest's own view, QmpBackend.detachGpu,
//     query-pci again), every duration measured; the JSON goes to OUT_JSON.
//   node dist/test/tools/qmp-tool.js query-pci SOCKET...
//     per socket: the run state and the flattened query-pci tree, or off: true when no QEMU listens;
//     one JSON object keyed by socket on stdout.
//   node dist/test/tools/qmp-tool.js look HELPER_SOCKET FUNCTIONS SOCKET...
//     the machine's state from three sides in one process (node starts slowly under TCG): the
//     drivers of FUNCTIONS (comma-separated) in sysfs, query-pci of each VM socket, and the helper's
//     `status` (skipped when HELPER_SOCKET is "-"); one JSON object on stdout.
//   node dist/test/tools/qmp-tool.js exec SOCKET COMMAND [ARGUMENTS_JSON]
//     one QMP command; its return value as JSON on stdout (exit 1 with the error otherwise).
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { QmpBackend, QmpClient, flattenPciTree, parseQueryPci, type GuestPciFunction } from '../../../app/backends/qmp/index.js';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { VmNotRunningError } from '../../../app/domain/vm/errors.js';
import { connectHelper } from '../../../app/protocol/helper-client.js';
import type { VmEvent } from '../../../app/domain/vm/port.js';

const VM = 'l2';

function elapsed(t0: number): number {
  return Math.round(performance.now() - t0);
}

/** The guest's own view: the last "l2-pci" line its init printed on the serial console. */
function guestView(serialLog: string): string {
  if (!existsSync(serialLog)) return '';
  const lines = readFileSync(serialLog, 'utf8').split('\n').filter((l) => l.startsWith('l2-pci '));
  return lines[lines.length - 1] ?? '';
}

async function waitFor(what: () => boolean, deadlineMs: number): Promise<number | null> {
  const t0 = performance.now();
  while (performance.now() - t0 < deadlineMs) {
    if (what()) return elapsed(t0);
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

async function cycles(socketPath: string, bus: string, count: number, serialLog: string, outFile: string, functions: PciAddress[]): Promise<void> {
  const backend = new QmpBackend({ vms: [{ name: VM, socketPath, gpuSlot: { bus, slot: 0 } }], commandTimeoutMs: 60_000 });
  const events: { at: number; event: VmEvent }[] = [];
  let t0 = performance.now();
  backend.events((event) => events.push({ at: elapsed(t0), event }));
  const result: Record<string, unknown> & { cycles: unknown[] } = {
    state: await backend.state(VM),
    before: { passthrough: await backend.passthroughDevices(VM), guest: guestView(serialLog) },
    cycles: [],
  };
  try {
    for (let i = 1; i <= count; i++) {
      const cycle: Record<string, unknown> = { cycle: i };
      result.cycles.push(cycle);
      events.length = 0;
      t0 = performance.now();
      cycle.attach = await backend.attachGpu(VM, { functions });
      cycle.attachMs = elapsed(t0);
      const client = await backend.client(VM);
      cycle.pciAfterAttach = flattenPciTree(parseQueryPci(await client.execute('query-pci')));
      cycle.passthroughAfterAttach = await backend.passthroughDevices(VM);
      // The guest's init reports the PCI functions it sees once a second.
      cycle.guestSawMs = await waitFor(() => guestView(serialLog).includes('0x1234:0x1111') && guestView(serialLog).includes('0x8086:0x293e'), 180_000);
      cycle.guestAfterAttach = guestView(serialLog);
      events.length = 0;
      t0 = performance.now();
      cycle.detach = await backend.detachGpu(VM, functions, { deadlineMs: 60_000 });
      cycle.detachMs = elapsed(t0);
      cycle.detachEvents = events.filter((e) => e.event.kind === 'device-deleted').map((e) => ({ at: e.at, device: 'deviceId' in e.event ? e.event.deviceId : null }));
      cycle.pciAfterDetach = flattenPciTree(parseQueryPci(await client.execute('query-pci')));
      cycle.passthroughAfterDetach = await backend.passthroughDevices(VM);
      cycle.guestGoneMs = await waitFor(() => !guestView(serialLog).includes('0x1234:0x1111'), 180_000);
      cycle.guestAfterDetach = guestView(serialLog);
      process.stdout.write(`cycle ${i}: attach ${String(cycle.attachMs)} ms (${JSON.stringify(cycle.attach)}), detach ${String(cycle.detachMs)} ms, guest saw it after ${String(cycle.guestSawMs)} ms, gone after ${String(cycle.guestGoneMs)} ms\n`);
    }
  } catch (err) {
    result.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw err;
  } finally {
    writeFileSync(outFile, JSON.stringify(result, null, 2));
    await backend.close();
  }
}

async function queryPci(socketPath: string): Promise<{ off: boolean; status: unknown; tree: GuestPciFunction[] }> {
  let client: QmpClient;
  try {
    client = await QmpClient.connect({ socketPath, vm: VM, connectTimeoutMs: 20_000, commandTimeoutMs: 30_000 });
  } catch (err) {
    if (err instanceof VmNotRunningError) return { off: true, status: null, tree: [] };
    throw err;
  }
  try {
    const tree = flattenPciTree(parseQueryPci(await client.execute('query-pci')));
    const status = await client.execute('query-status');
    return { off: false, status, tree };
  } finally {
    client.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (command === 'cycles') {
    const [socketPath, bus, count, serialLog, outFile, ...functions] = args;
    if (!socketPath || !bus || !count || !serialLog || !outFile || functions.length === 0) throw new Error('usage: cycles SOCKET BUS CYCLES SERIAL_LOG OUT FUNCTION...');
    return cycles(socketPath, bus, Number(count), serialLog, outFile, functions as PciAddress[]);
  }
  if (command === 'query-pci' && args.length > 0) {
    const out: Record<string, unknown> = {};
    for (const socketPath of args) out[socketPath] = await queryPci(socketPath);
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  if (command === 'look' && args[0] && args[1] && args.length > 2) {
    const [helperSocket, functions, ...sockets] = args as [string, string, ...string[]];
    const drivers: Record<string, string> = {};
    for (const f of functions.split(',')) {
      try {
        drivers[f] = basename(readlinkSync(`/sys/bus/pci/devices/${f}/driver`));
      } catch {
        drivers[f] = 'none';
      }
    }
    const vms: Record<string, unknown> = {};
    for (const socketPath of sockets) vms[socketPath] = await queryPci(socketPath);
    let status: unknown = null;
    let statusError: string | null = null;
    if (helperSocket !== '-') {
      try {
        const client = await connectHelper(helperSocket, { connectTimeoutMs: 30_000 });
        let timer: NodeJS.Timeout | undefined;
        try {
          // A helper that accepts but never answers must not hang the look.
          status = await Promise.race([
            client.call('status'),
            new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('no answer to status within 60 s')), 60_000); }),
          ]);
        } finally {
          clearTimeout(timer);
          client.close();
        }
      } catch (err) {
        statusError = err instanceof Error ? err.message : String(err);
      }
    }
    process.stdout.write(`${JSON.stringify({ drivers, vms, status, statusError }, null, 2)}\n`);
    return;
  }
  if (command === 'exec' && args[0] && args[1]) {
    const client = await QmpClient.connect({ socketPath: args[0], vm: VM, connectTimeoutMs: 20_000, commandTimeoutMs: 60_000 });
    try {
      const value = await client.execute(args[1], args[2] ? (JSON.parse(args[2]) as Record<string, unknown>) : undefined);
      process.stdout.write(`${JSON.stringify(value)}\n`);
    } finally {
      client.close();
    }
    return;
  }
  throw new Error('usage: qmp-tool.js cycles ... | query-pci SOCKET... | look HELPER_SOCKET FUNCTIONS SOCKET... | exec SOCKET COMMAND [ARGUMENTS_JSON]');
}

main(process.argv.slice(2)).then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`qmp-tool: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
