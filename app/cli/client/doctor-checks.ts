// What `baton doctor` looks at: the IOMMU, the vfio modules, the configured GPUs' groups and ROMs,
// the config file, and the helper. Each finding says what to do about it. Roots are parameters
// so the checks run against a sysfs-shaped folder in tests.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { formatConfigError, type BatonConfig, type GpuConfig } from '../../domain/config/index.js';
import { slotOf, type PciAddress } from '../../domain/pci-address.js';
import { checkConfigFileOwnership, ConfigReadError, loadConfigFile } from '../../host/config/load.js';
import { SYSTEM_ACCOUNT_FILES, type AccountFiles } from '../../helper/daemon/accounts.js';
import { connectHelper } from '../../protocol/helper-client.js';
import { accountErrors, describeMatch, locateGpu, setAsideJournals } from './machine-checks.js';
import { checkInputs } from './input-checks.js';

export interface Finding {
  level: 'ok' | 'warning' | 'error';
  what: string;
  fix?: string;
}

export interface DoctorPaths {
  sysRoot: string;
  procRoot: string;
  configPath: string;
  socketPath: string;
  accountFiles?: AccountFiles;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

function list(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

export function checkIommu({ sysRoot, procRoot }: DoctorPaths): Finding {
  const groups = list(join(sysRoot, 'kernel/iommu_groups')).length;
  const cmdline = (read(join(procRoot, 'cmdline')) ?? '').split(/\s+/);
  const flags = cmdline.filter((w) => /^(intel_iommu|amd_iommu|iommu)=/.test(w));
  const onCmdline = flags.length ? ` (kernel command line: ${flags.join(' ')})` : '';
  if (groups > 0) return { level: 'ok', what: `IOMMU on: ${groups} groups${onCmdline}` };
  if (cmdline.includes('intel_iommu=on') || cmdline.includes('amd_iommu=on')) {
    return { level: 'error', what: `IOMMU off although the kernel command line asks for it${onCmdline}`, fix: 'enable VT-d (Intel) or AMD-Vi/IOMMU in the firmware setup' };
  }
  return {
    level: 'error',
    what: 'IOMMU off: no IOMMU groups',
    fix: 'enable VT-d / AMD-Vi in the firmware, and add intel_iommu=on (Intel) or amd_iommu=on (AMD) and iommu=pt to the kernel command line',
  };
}

export function checkVfioModules({ sysRoot }: DoctorPaths): Finding[] {
  const loaded = (m: string) => existsSync(join(sysRoot, 'module', m));
  const findings: Finding[] = [];
  if (loaded('vfio_pci') || existsSync(join(sysRoot, 'bus/pci/drivers/vfio-pci'))) findings.push({ level: 'ok', what: 'vfio-pci loaded' });
  else findings.push({ level: 'warning', what: 'vfio-pci not loaded', fix: 'modprobe vfio-pci (the helper loads it before a claim unless loadVfioModule: false)' });
  for (const m of ['vfio', 'vfio_iommu_type1']) {
    if (!loaded(m)) findings.push({ level: 'warning', what: `${m} not loaded`, fix: `modprobe ${m}` });
  }
  return findings;
}

export function checkGpu({ sysRoot }: DoctorPaths, gpu: GpuConfig): Finding[] {
  const address = locateGpu(sysRoot, gpu);
  if (!address) return [{ level: 'error', what: `${gpu.name}: not found on this machine (no PCI device with ${describeMatch(gpu)}); the helper reports it absent`, fix: 'check match: in the config against `baton inventory` (or plug the GPU in)' }];
  const findings: Finding[] = [];
  const dev = join(sysRoot, 'bus/pci/devices', address);
  let group: string | null = null;
  try {
    group = basename(readlinkSync(join(dev, 'iommu_group')));
  } catch {
    findings.push({ level: 'error', what: `${gpu.name} (${address}): in no IOMMU group`, fix: 'turn the IOMMU on (see above)' });
  }
  if (group !== null) {
    const members = list(join(sysRoot, 'kernel/iommu_groups', group, 'devices'));
    // Functions of the GPU's own slot and its movable peers go along; bridges may stay.
    const others = members.filter(
      (m) => slotOf(m as PciAddress) !== slotOf(address) && !gpu.movablePeers.includes(m as PciAddress) && !(read(join(sysRoot, 'bus/pci/devices', m, 'class')) ?? '').startsWith('0x0604'),
    );
    if (others.length) {
      findings.push({
        level: 'warning',
        what: `${gpu.name} (${address}): IOMMU group ${group} also holds ${others.join(', ')}`,
        fix: 'they must move to vfio-pci with the GPU (list them in movablePeers) or the claim is refused; another slot may give the GPU a group of its own',
      });
    } else findings.push({ level: 'ok', what: `${gpu.name} (${address}): IOMMU group ${group} holds only the GPU` });
  }
  const romPresent = existsSync(join(dev, 'rom'));
  if (gpu.vbios?.source === 'file') {
    if (existsSync(gpu.vbios.file)) findings.push({ level: 'ok', what: `${gpu.name}: VBIOS file ${gpu.vbios.file} present` });
    else findings.push({ level: 'error', what: `${gpu.name}: VBIOS file ${gpu.vbios.file} missing`, fix: `baton vbios import FILE, or fix vbios.file` });
  } else if (!romPresent) {
    findings.push({ level: 'warning', what: `${gpu.name}: the card exposes no ROM`, fix: 'give the guest a VBIOS file: vbios: { file: ... } (see baton vbios import)' });
  } else findings.push({ level: 'ok', what: `${gpu.name}: ROM present` });
  return findings;
}

export function checkConfig(path: string): { findings: Finding[]; config: BatonConfig | null } {
  if (!existsSync(path)) {
    return { findings: [{ level: 'error', what: `no config at ${path}`, fix: `copy baton.example.yaml to ${path} and edit it` }], config: null };
  }
  const findings: Finding[] = [];
  for (const problem of checkConfigFileOwnership(path)) {
    findings.push({ level: 'error', what: `the helper will not trust the config: ${problem}`, fix: `chown root:root ${path} && chmod 644 ${path}` });
  }
  try {
    const result = loadConfigFile(path);
    if (!result.ok) {
      for (const e of result.errors) findings.push({ level: 'error', what: formatConfigError(e), fix: `baton config check ${path}` });
      return { findings, config: null };
    }
    findings.unshift({ level: 'ok', what: `config ${path} valid (${result.config.gpus.length} GPUs, ${result.config.vms.length} VMs)` });
    return { findings, config: result.config };
  } catch (err) {
    if (err instanceof ConfigReadError) return { findings: [...findings, { level: 'error', what: err.message }], config: null };
    throw err;
  }
}

/** The accounts the config names exist; the journals a recovery set aside are listed. */
export function checkState(config: BatonConfig, configPath: string, files: AccountFiles = SYSTEM_ACCOUNT_FILES): Finding[] {
  const findings: Finding[] = accountErrors(config, configPath, null, files).map((e) => ({ level: 'error', what: `${e.path}: ${e.message}`, fix: `baton config check ${configPath}` }));
  for (const journal of setAsideJournals(config)) {
    findings.push({ level: 'warning', what: `a recovery set aside the journal ${journal}: a switch it could neither finish nor undo`, fix: 'baton status shows where each GPU is; baton reconcile, then remove the file once the GPU is where it should be' });
  }
  return findings;
}

/** What the helper itself says about GPUs it cannot use and what start-up could not recover. */
function helperReports(status: Record<string, unknown>): Finding[] {
  const findings: Finding[] = [];
  for (const gpu of (status.gpus as { name: string; owner: string; reason?: string }[] | undefined) ?? []) {
    if (['absent', 'lost', 'wedged'].includes(gpu.owner)) {
      findings.push({ level: gpu.owner === 'absent' ? 'warning' : 'error', what: `the helper reports ${gpu.name} ${gpu.owner}${gpu.reason ? `: ${gpu.reason}` : ''}`, fix: 'baton status; baton reconcile' });
    }
  }
  for (const problem of (status.recoveryProblems as string[] | undefined) ?? []) findings.push({ level: 'warning', what: `the helper could not recover: ${problem}`, fix: 'baton status; baton history' });
  return findings;
}

export async function checkHelper(socketPath: string): Promise<Finding[]> {
  try {
    const client = await connectHelper(socketPath, { connectTimeoutMs: 2000, callTimeoutsMs: { hello: 5000, status: 10_000 } });
    try {
      const hello = await client.call('hello', { client: 'baton doctor' });
      const status = (await client.call('status')) as unknown as Record<string, unknown>;
      return [{ level: 'ok', what: `helper answers at ${socketPath} (version ${hello.server}, protocol ${hello.protocol})` }, ...helperReports(status)];
    } finally {
      client.close();
    }
  } catch (err) {
    return [{ level: 'error', what: (err as Error).message, fix: 'systemctl enable --now baton-helper.socket; journalctl -u baton-helper' }];
  }
}

export async function runDoctorChecks(paths: DoctorPaths): Promise<Finding[]> {
  const { findings: configFindings, config } = checkConfig(paths.configPath);
  return [
    checkIommu(paths),
    ...checkVfioModules(paths),
    ...configFindings,
    ...(config ? checkState(config, paths.configPath, paths.accountFiles) : []),
    ...(config?.gpus ?? []).flatMap((gpu) => checkGpu(paths, gpu)),
    ...(config ? checkInputs(config) : []),
    ...(await checkHelper(paths.socketPath)),
  ];
}
