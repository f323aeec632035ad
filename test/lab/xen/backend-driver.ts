// Runs inside dom0 of the Xen lab (compiled to dist/, started by backend-dom0.sh): drives Baton's
// XenBackend through the move of the emulated GPU (VGA + HDA) from PV guest vm-a to vm-b, the
// refused detaches from a paused guest, and a one-function forced detach from a paused guest. Writes every result, error and observed xenstore state to
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
const vgaAlone = [vga] as PciAddress[];
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
// The paused guest: back to vm-a, pause it, detach without and then with force. Both are refused
// at once (nothing sent to xl): without force a paused guest cannot answer, and with force a paused
// PV guest gives up only its first function (the lab showed the backend stuck at Reconfiguring), so
// the GPU would be split. vm-a keeps both functions; once resumed it lets go normally.
await stage('detach-vm-b', () => backend.detachGpu('vm-b', gpu, { deadlineMs: 30_000 }));
await stage('attach-vm-a-again', () => backend.attachGpu('vm-a', { functions: gpu }));
await stage('pause-vm-a', async () => { await backend.pause('vm-a'); return backend.state('vm-a'); });
await stage('detach-paused', () => backend.detachGpu('vm-a', gpu, { deadlineMs: 30_000 }));
await stage('detach-paused-force', () => backend.detachGpu('vm-a', gpu, { deadlineMs: 30_000, force: true }));
await stage('devices-vm-a-paused', () => backend.passthroughDevices('vm-a'));
await stage('resume-vm-a', async () => { await backend.resume('vm-a'); return backend.state('vm-a'); });
await stage('detach-vm-a-resumed', () => backend.detachGpu('vm-a', gpu, { deadlineMs: 30_000 }));
// A one-function device (here the VGA alone) may still be force-detached from a paused guest; libxl leaves its keys at
// Closing until the resumed guest answers, and passthroughDevices tidies them then.
await stage('attach-vga-vm-a', () => backend.attachGpu('vm-a', { functions: vgaAlone }));
await stage('pause-vm-a-single', async () => { await backend.pause('vm-a'); return backend.state('vm-a'); });
await stage('detach-paused-force-single', () => backend.detachGpu('vm-a', vgaAlone, { deadlineMs: 30_000, force: true }));
await stage('resume-vm-a-single', async () => { await backend.resume('vm-a'); return backend.state('vm-a'); });
await stage('devices-vm-a-tidied', async () => {
  for (let i = 0; i < 60; i++) {
    const devices = await backend.passthroughDevices('vm-a');
    const raw = xlPciList('vm-a');
    if (devices.length === 0 && !raw.includes(vga)) return { devices, afterS: i };
    await sleep(1000);
  }
  return { devices: await backend.passthroughDevices('vm-a'), afterS: 'never' };
});
// Hand the GPU back to dom0's drivers, so that the helper's end-to-end run starts from the host.
await stage('return-to-host', async () => {
  const xl = (args: string[]) => execFileSync('xl', args, { encoding: 'utf8', timeout: 60_000 });
  for (const fn of gpu) xl(['pci-assignable-remove', '-r', fn]);
  return xl(['pci-assignable-list']);
});
await stage('xenstore-end', async () => {
  try {
    return execFileSync('xenstore', ['ls', '-f', '/local/domain/0/backend/pci'], { encoding: 'utf8', timeout: 30_000 });
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
});
await stage('state-end', () => backend.listVms());
