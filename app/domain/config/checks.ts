// Rules that span fields and entries: duplicates, references between sections, and
// release/acquire combinations that cannot work. They read the raw YAML data, not the parsed
// config, so they still report when some other part of the file fails the schema.
import { parsePciAddress } from '../pci-address.js';
import { normalizeKeys } from './fields.js';
import { formatPath, type PathSegment } from './positions.js';
import { inputProblems } from './inputs.js';
import { CYCLE_TARGET, OWNER_STATE_NAMES, RESERVED_TARGETS } from './schema.js';

export type CheckProblem = { path: PathSegment[]; message: string; at?: 'key' | 'value' };

type Raw = Record<string, unknown>;
const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
const obj = (x: unknown): Raw | undefined => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Raw) : undefined);
const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);

/** Remembers the first place a value was seen and reports every later one. */
class FirstSeen {
  private readonly seen = new Map<string, PathSegment[]>();
  constructor(private readonly problems: CheckProblem[]) {}
  claim(value: string | undefined, path: PathSegment[], message: (first: string) => string): void {
    if (value === undefined) return;
    const first = this.seen.get(value);
    if (first) this.problems.push({ path, message: message(formatPath(first)) });
    else this.seen.set(value, path);
  }
}

function known(names: Iterable<string>): string {
  const all = [...names];
  return all.length ? all.join(', ') : 'none configured';
}

function checkGpus(gpus: unknown[], problems: CheckProblem[]): void {
  const names = new FirstSeen(problems);
  const addresses = new FirstSeen(problems);
  const ids = new FirstSeen(problems);
  const connectors = new FirstSeen(problems);
  gpus.forEach((g, i) => {
    const gpu = obj(g);
    if (!gpu) return;
    const nameValue = str(gpu.name);
    names.claim(nameValue, ['gpus', i, 'name'], (first) => `duplicate GPU name ${JSON.stringify(nameValue)} (first used at ${first})`);
    const match = obj(gpu.match);
    const address = parsePciAddress(str(match?.address) ?? '') ?? undefined;
    addresses.claim(address, ['gpus', i, 'match', 'address'], (first) => `${address} is already used by ${first}; each device belongs to one GPU entry`);
    if (match && address === undefined && match.vendor !== undefined) {
      const key = ['vendor', 'device', 'subsystem', 'serial'].map((k) => String(match[k] ?? '').toLowerCase().replace(/^0x/, '').replace(/[-:]/g, '')).join('|');
      ids.claim(key, ['gpus', i, 'match'], (first) => `matches the same ids as ${first}; add serial, or match by address, to tell the cards apart`);
    }
    list(gpu.movablePeers).forEach((p, j) => {
      const peer = parsePciAddress(str(p) ?? '') ?? undefined;
      addresses.claim(peer, ['gpus', i, 'movablePeers', j], (first) => `${peer} is already used by ${first}; each device belongs to one GPU entry`);
    });
    list(gpu.monitors).forEach((c, j) => {
      connectors.claim(str(c), ['gpus', i, 'monitors', j], (first) => `${JSON.stringify(c)} is already listed at ${first}`);
    });
  });
}

function releaseMethod(vm: Raw): string | undefined {
  if (vm.release === undefined) return 'hot-unplug';
  return typeof vm.release === 'string' ? vm.release : str(obj(vm.release)?.method) ?? 'hot-unplug';
}

function checkVm(vm: Raw, i: number, problems: CheckProblem[]): void {
  const backend = str(vm.backend);
  const release = releaseMethod(vm);
  const acquire = vm.acquire === undefined ? 'hot-plug' : str(vm.acquire);
  const releasePath: PathSegment[] = typeof vm.release === 'object' && vm.release !== null ? ['vms', i, 'release', 'method'] : ['vms', i, 'release'];
  if (release === 'force-detach' && backend !== undefined && backend !== 'xen') {
    problems.push({ path: releasePath, message: `force-detach needs backend xen (xl pci-detach -f); with ${backend} use hot-unplug or shutdown` });
  }
  const releaseObj = typeof vm.release === 'object' && vm.release !== null ? obj(vm.release) : undefined;
  if (releaseObj?.forceAfterSeconds !== undefined && release !== 'shutdown') {
    problems.push({ path: ['vms', i, 'release', 'forceAfterSeconds'], message: `forceAfterSeconds applies to release method shutdown only (powering the VM off by force); with ${release} leave it out` });
  }
  if (acquire === 'start') {
    if (release === 'hot-unplug' || release === 'force-detach') {
      problems.push({
        path: vm.release === undefined ? ['vms', i, 'acquire'] : releasePath,
        message: `acquire: start expects the VM to be stopped while it has no GPU, but release: ${release} leaves it running; use release: shutdown, or acquire: hot-plug`,
      });
    }
    if (backend === 'qmp' && vm.start === undefined) {
      problems.push({ path: ['vms', i, 'acquire'], message: 'acquire: start with backend qmp needs start: { argv: [...] }, the command that launches the VM' });
    }
  }
}

function checkVms(vms: unknown[], problems: CheckProblem[]): Set<string> {
  const names = new FirstSeen(problems);
  const connections = new FirstSeen(problems);
  const vmNames = new Set<string>();
  vms.forEach((v, i) => {
    const vm = obj(v);
    if (!vm) return;
    const nameValue = str(vm.name);
    const reserved = ([...RESERVED_TARGETS, CYCLE_TARGET] as readonly string[]).includes(nameValue ?? '');
    const ownerState = (OWNER_STATE_NAMES as readonly string[]).includes(nameValue ?? '');
    if (nameValue !== undefined && !reserved && !ownerState) vmNames.add(nameValue);
    if (reserved) {
      problems.push({ path: ['vms', i, 'name'], message: `${JSON.stringify(nameValue)} is reserved (it names a target that is not a VM); choose another name` });
    } else if (ownerState) {
      problems.push({ path: ['vms', i, 'name'], message: `${JSON.stringify(nameValue)} is reserved (status shows it as a GPU's owner state: ${OWNER_STATE_NAMES.join(', ')}); choose another name` });
    }
    names.claim(nameValue, ['vms', i, 'name'], (first) => `duplicate VM name ${JSON.stringify(nameValue)} (first used at ${first})`);
    const domain = str(vm.domain) ?? nameValue;
    if (vm.backend === 'qmp') {
      connections.claim(str(vm.socket) && `qmp ${str(vm.socket)}`, ['vms', i, 'socket'], (first) => `the same QMP socket as ${first}`);
    } else if (vm.backend === 'libvirt' && domain !== undefined) {
      const uri = str(vm.uri) ?? 'qemu:///system';
      connections.claim(`libvirt ${uri} ${domain}`, ['vms', i, vm.domain === undefined ? 'name' : 'domain'], (first) => `the same libvirt domain ${JSON.stringify(domain)} as ${first}`);
    } else if (vm.backend === 'xen' && domain !== undefined) {
      connections.claim(`xen ${domain}`, ['vms', i, vm.domain === undefined ? 'name' : 'domain'], (first) => `the same Xen domain ${JSON.stringify(domain)} as ${first}`);
    }
    checkVm(vm, i, problems);
  });
  return vmNames;
}

function checkMonitors(root: Raw, gpuNames: Set<string>, vmNames: Set<string>, problems: CheckProblem[]): void {
  // Which GPU each connector was listed under in gpus[].monitors.
  const listedUnder = new Map<string, string>();
  list(root.gpus).forEach((g) => {
    const gpu = obj(g);
    for (const c of list(gpu?.monitors)) if (str(c) && str(gpu?.name)) listedUnder.set(str(c) ?? '', str(gpu?.name) ?? '');
  });
  const connectors = new FirstSeen(problems);
  const names = new FirstSeen(problems);
  list(root.monitors).forEach((m, i) => {
    const monitor = obj(m);
    if (!monitor) return;
    const connector = str(monitor.connector);
    connectors.claim(connector, ['monitors', i, 'connector'], (first) => `duplicate connector ${JSON.stringify(connector)} (first used at ${first})`);
    names.claim(str(monitor.name), ['monitors', i, 'name'], (first) => `duplicate monitor name ${JSON.stringify(monitor.name)} (first used at ${first})`);
    const gpu = str(monitor.gpu);
    if (gpu !== undefined && !gpuNames.has(gpu)) {
      problems.push({ path: ['monitors', i, 'gpu'], message: `unknown GPU ${JSON.stringify(gpu)} (known: ${known(gpuNames)})` });
    }
    const other = connector === undefined ? undefined : listedUnder.get(connector);
    if (gpu !== undefined && other !== undefined && other !== gpu) {
      problems.push({ path: ['monitors', i, 'gpu'], message: `${JSON.stringify(connector)} is listed under GPU ${JSON.stringify(other)}, not ${JSON.stringify(gpu)}` });
    }
    const inputs = obj(obj(monitor.ddc)?.inputs);
    for (const target of Object.keys(inputs ?? {})) {
      if (target === 'host' || vmNames.has(target)) continue;
      const message =
        target === 'park'
          ? 'a parked GPU shows nothing, so "park" has no input; remove it'
          : `unknown target ${JSON.stringify(target)} (expected host or a VM: ${known(vmNames)})`;
      problems.push({ path: ['monitors', i, 'ddc', 'inputs', target], message, at: 'key' });
    }
  });
}

function checkShortcuts(root: Raw, gpuNames: Set<string>, vmNames: Set<string>, problems: CheckProblem[]): void {
  const chords = new FirstSeen(problems);
  const gpuCount = list(root.gpus).length;
  list(root.shortcuts).forEach((s, i) => {
    const shortcut = obj(s);
    if (!shortcut) return;
    const keys = str(shortcut.keys);
    chords.claim(keys && normalizeKeys(keys), ['shortcuts', i, 'keys'], (first) => `${JSON.stringify(keys)} is already bound at ${first}`);
    const gpu = str(shortcut.gpu);
    if (gpu !== undefined && !gpuNames.has(gpu)) {
      problems.push({ path: ['shortcuts', i, 'gpu'], message: `unknown GPU ${JSON.stringify(gpu)} (known: ${known(gpuNames)})` });
    } else if (shortcut.gpu === undefined && gpuCount !== 1) {
      problems.push({ path: ['shortcuts', i], message: gpuCount ? `gpu is required when ${gpuCount} GPUs are configured` : 'gpu is required (no GPU is configured)' });
    }
    const target = str(shortcut.target);
    if (target !== undefined && !([...RESERVED_TARGETS, CYCLE_TARGET] as readonly string[]).includes(target) && !vmNames.has(target)) {
      problems.push({ path: ['shortcuts', i, 'target'], message: `unknown target ${JSON.stringify(target)} (expected host, park, cycle or a VM: ${known(vmNames)})` });
    }
  });
}

/** Every cross-field problem in the raw document, in no particular order. */
export function crossFieldProblems(data: unknown): CheckProblem[] {
  const root = obj(data);
  if (!root) return [];
  const problems: CheckProblem[] = [];
  const gpus = list(root.gpus);
  checkGpus(gpus, problems);
  const gpuNames = new Set(gpus.map((g) => str(obj(g)?.name)).filter((n): n is string => n !== undefined));
  const vmNames = checkVms(list(root.vms), problems);
  checkMonitors(root, gpuNames, vmNames, problems);
  checkShortcuts(root, gpuNames, vmNames, problems);
  problems.push(...inputProblems(root));
  return problems;
}
