// Runs inside dom0 of the Xen lab (compiled to dist/, started by backend-dom0.sh): drives Baton's
// XenBackend through the move of the emulated GPU (VGA + HDA) from PV guest vm-a to vm-b, and the
// paused-guest detach. Writes every result, error and observed xenstore state to
// $OUT/backend-result.json for backend-move.lab.test.ts.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XenBackend, type XenBackendObservation } from '../../../app/backends/xen/index.js';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { isVmBackendError } from '../../../app/domain/vm/errors.js';

interface StageRecord {
  name: string;
  ms: number;
  ok: boolean;
  result?: unknown;
  error?: { name: string; kind: string; message: string; hypervisorMessage?: string };
  /** Raw `xl pci-list` of both guests right after the stage. */
  pciList: Record<string, string>;
  observations: { operation: string; device: string; atMs: number; summary: string }[];
}

const [vga = '', hda = ''] = process.argv.slice(2) as PciAddress[];
const out = process.env.OUT ?? '/run/lab';
const gpu = [vga, hda] as PciAddress[];
let observed: XenBackendObservation[] = [];
const backend = new XenBackend({
  vms: [{ name: 'vm-a', domain: 'vm-a' }, { name: 'vm-b', domain: 'vm-b' }],
  commandTimeoutMs: 90_000,
  attachTimeoutMs: 60_000,
  onBackendState: (o) => {
    observed.push(o);
    process.stderr.write(`[xenstore] ${o.vm} ${o.operation} ${o.device} +${o.atMs} ms: ${o.summary}\n`);
  },
});
const stages: StageRecord[] = [];

function xlPciList(domain: string): string {
  try {
    return execFileSync('xl', ['pci-list', domain], { encoding: 'utf8', timeout: 60_000 });
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

async function stage(name: string, action: () => Promise<unknown>): Promise<StageRecord> {
  observed = [];
  const began = Date.now();
  const record: StageRecord = { name, ms: 0, ok: true, pciList: {}, observations: [] };
  try {
    record.result = await action();
  } catch (error) {
    record.ok = false;
    record.error = isVmBackendError(error)
      ? { name: error.name, kind: error.kind, message: error.message, ...(error.hypervisorMessage ? { hypervisorMessage: error.hypervisorMessage } : {}) }
      : { name: (error as Error).name, kind: 'untyped', message: String(error) };
  }
  record.ms = Date.now() - began;
  record.observations = observed.map((o) => ({ operation: o.operation, device: o.device, atMs: o.atMs, summary: o.summary }));
  for (const vm of ['vm-a', 'vm-b']) record.pciList[vm] = xlPciList(vm);
  stages.push(record);
  process.stderr.write(`[stage] ${name} ${record.ok ? 'ok' : `failed: ${record.error?.message}`} in ${record.ms} ms\n`);
  writeFileSync(join(out, 'backend-result.json'), JSON.stringify({ vga, hda, stages }, null, 2));
  return record;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await stage('list', () => backend.listVms());
await stage('attach-vm-a', () => backend.attachGpu('vm-a', { functions: gpu }));
await stage('devices-vm-a', () => backend.passthroughDevices('vm-a'));
await stage('detach-vm-a', () => backend.detachGpu('vm-a', gpu, { deadlineMs: 30_000 }));
await stage('attach-vm-b', () => backend.attachGpu('vm-b', { functions: gpu }));
await stage('devices-vm-b', () => backend.passthroughDevices('vm-b'));
// The paused guest: back to vm-a, pause it, detach without and then with force.
await stage('detach-vm-b', () => backend.detachGpu('vm-b', gpu, { deadlineMs: 30_000 }));
await stage('attach-vm-a-again', () => backend.attachGpu('vm-a', { functions: gpu }));
await stage('pause-vm-a', async () => { await backend.pause('vm-a'); return backend.state('vm-a'); });
await stage('detach-paused', () => backend.detachGpu('vm-a', gpu, { deadlineMs: 30_000 }));
await stage('detach-paused-force', () => backend.detachGpu('vm-a', gpu, { deadlineMs: 30_000, force: true }));
await stage('devices-vm-a-paused', () => backend.passthroughDevices('vm-a'));
await stage('attach-vm-b-after-force', () => backend.attachGpu('vm-b', { functions: gpu }));
await stage('resume-vm-a', async () => { await backend.resume('vm-a'); return backend.state('vm-a'); });
// Once vm-a runs again its pcifront answers the Closing request and the backend reconnects; then the
// stale keys libxl left are tidied by passthroughDevices.
await stage('devices-vm-a-resumed', async () => {
  for (let i = 0; i < 30; i++) {
    const devices = await backend.passthroughDevices('vm-a');
    const raw = xlPciList('vm-a');
    if (!raw.includes(vga) && !raw.includes(hda)) return { devices, afterS: i };
    await sleep(1000);
  }
  return { devices: await backend.passthroughDevices('vm-a'), afterS: 'never' };
});
await stage('xenstore-end', async () => {
  try {
    return execFileSync('xenstore', ['ls', '-f', '/local/domain/0/backend/pci'], { encoding: 'utf8', timeout: 30_000 });
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
});
await stage('state-end', () => backend.listVms());
