// The VM backend port over Xen's xl toolstack (dom0, root). PV guests get their PCI devices through
// pciback/pcifront: xl writes the request into xenstore and the guest's pcifront has to answer, so
// every attach and detach is checked in the PV backend's xenstore directory and in `xl pci-list`,
// never on xl's exit status alone (see README.md and test/fixtures/xen/README.md).
import type { PciAddress } from '../../domain/pci-address.js';
import { functionOf } from '../../domain/pci-address.js';
import { attachRequestProblem } from '../../domain/vm/attach-request.js';
import {
  GuestDidNotReleaseError,
  VmAlreadyRunningError,
  VmCommandFailedError,
  VmDeviceBusyError,
  VmInvalidRequestError,
  VmNotFoundError,
  VmNotRunningError,
  VmProtocolError,
  VmStartFailedError,
  VmTimeoutError,
  isVmBackendError,
  type VmBackendError,
  type VmErrorContext,
} from '../../domain/vm/errors.js';
import type {
  AttachGpuRequest, AttachGpuResult, DetachGpuOptions, DetachGpuResult, ShutdownOptions, ShutdownResult,
  StartOptions, StartResult, Unsubscribe, VmBackend, VmEventListener, VmName, VmStatus, VmSummary,
} from '../../domain/vm/port.js';
import { shutdownAbandonedMessage, shutdownWait } from '../../domain/vm/port.js';
import {
  XenFormatError, describePciBackend, parseAssignableList, parseXenstoreLs, parseXlList, parseXlListLong, parseXlPciList,
  pciBackendFromEntries, pciBackendPath, vmStateFromFlags,
  type PciBackendState, type XlDomain, type XlPciListEntry,
} from './parsers.js';
import { backendNotReady, runTool, type ToolRun } from './xl.js';
import { waitedOn } from '../../domain/time/wait-meter.js';

export interface XenVmConfig {
  name: VmName;
  /** The xl domain name. */
  domain: string;
  /** The xl domain config file, for `start` (`xl create FILE`). */
  configFile?: string;
  /** Virtual slot for HVM guests (xl's `BDF@vslot`); PV guests ignore it (pcifront numbers devices itself). */
  gpuSlot?: number;
}

/** One look at a PV backend while the backend waits on it (only changes are reported). */
export interface XenBackendObservation {
  vm: VmName;
  operation: 'attach' | 'detach';
  device: PciAddress;
  /** Milliseconds since the operation on this device began. */
  atMs: number;
  backend: PciBackendState;
  /** describePciBackend(backend). */
  summary: string;
}

export interface XenBackendOptions {
  vms: readonly XenVmConfig[];
  /** Default "xl". */
  xlPath?: string;
  /** The multi-call xenstore client (`xenstore ls|write|rm`), default "xenstore". */
  xenstorePath?: string;
  /** Deadline of each xl / xenstore command (default 60 s: libxl itself waits up to 10 s for a PV backend). */
  commandTimeoutMs?: number;
  /** How long attachGpu waits for each function to be exported to the guest (default 100 s). */
  attachTimeoutMs?: number;
  /** Added to the environment of every command (e.g. PATH / LD_LIBRARY_PATH of unpacked Xen tools). */
  env?: Readonly<Record<string, string>>;
  /** xenstore polling interval while waiting (default 100 ms). */
  pollMs?: number;
  /** Why root must not hand this domain config to xl create (others can write it); checked before every start. */
  fileProblems?: (path: string) => string[];
  /** Every change of the PV backend seen while waiting: for logs and tests. */
  onBackendState?: (observation: XenBackendObservation) => void;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;
// Export normally takes a second or two; the Xen lab under load took over 80 s for a second
// function (backend Reconfigured → Connected). Kept below the engine's 120 s attach step deadline.
const DEFAULT_ATTACH_TIMEOUT_MS = 100_000;
const STATE_POLL_MS = 250;
const XENBUS_INITIALISED = 3;
const XENBUS_CONNECTED = 4;
const XENBUS_CLOSING = 5;
/** The per-function keys libxl writes into the backend (libxl_pci.c). */
const DEVICE_KEYS = ['state', 'key', 'dev', 'vdev', 'opts', 'vdevfn'] as const;

interface Domain { vm: VmName; config: XenVmConfig; info: XlDomain }

// Polling the hypervisor's state: a wait on it.
const sleep = (ms: number) => waitedOn(new Promise((resolve) => setTimeout(resolve, ms)));

export class XenBackend implements VmBackend {
  readonly hypervisor = 'xen' as const;
  /** Domain type by domid ("pv", "hvm", "pvh"): fixed for a domid's life. */
  private readonly types = new Map<number, string>();

  constructor(private readonly options: XenBackendOptions) {}

  async listVms(): Promise<VmSummary[]> {
    let domains: XlDomain[] | null = null;
    let failure = 'error';
    try {
      domains = await this.domains(this.options.vms[0]?.name ?? 'xen');
    } catch (error) {
      failure = isVmBackendError(error) ? error.kind : 'error';
    }
    return this.options.vms.map((vm) => {
      if (!domains) return { name: vm.name, hypervisor: this.hypervisor, state: 'unknown' as const, raw: failure };
      const info = domains.find((d) => d.name === vm.domain);
      return { name: vm.name, hypervisor: this.hypervisor, ...statusOf(info) };
    });
  }

  async state(vm: VmName): Promise<VmStatus> {
    const config = this.config(vm);
    return statusOf((await this.domains(vm)).find((d) => d.name === config.domain));
  }

  async pause(vm: VmName): Promise<void> {
    await this.xl(vm, ['pause', this.config(vm).domain]);
  }

  async resume(vm: VmName): Promise<void> {
    await this.xl(vm, ['unpause', this.config(vm).domain]);
  }

  /** `xl pci-list`, less PV functions caught half-removed (state-N Closing): they are on their way out. */
  async passthroughDevices(vm: VmName): Promise<PciAddress[]> {
    const domain = await this.find(vm);
    if (!domain) return [];
    const listed = await this.pciList(vm);
    if (listed.length === 0 || (await this.domainType(domain)) !== 'pv') return listed.map((e) => e.device);
    const seen = await this.readBackend(vm, domain.info.domid);
    const closing = new Set(seen.backend.devices.filter((d) => d.state?.code === XENBUS_CLOSING).map((d) => d.address));
    await this.tidyClosed(vm, domain.info.domid, seen);
    return listed.map((e) => e.device).filter((d) => !closing.has(d));
  }

  async attachGpu(vm: VmName, request: AttachGpuRequest): Promise<AttachGpuResult> {
    const problem = attachRequestProblem(request);
    if (problem) throw new VmInvalidRequestError(`${vm}: cannot attach ${request.functions.join(', ')}: ${problem}`, this.context(vm));
    const domain = await this.find(vm);
    if (!domain) throw new VmNotRunningError(`${vm} (${this.config(vm).domain}) is not running: cannot attach ${request.functions.join(', ')}`, this.context(vm));
    const state = vmStateFromFlags(domain.info.flags);
    if (state === 'paused') {
      throw new VmNotRunningError(`${vm} is paused: its PCI frontend cannot answer an attach (xl would wait for it, then give up); resume it first`, this.context(vm));
    }
    if (state !== 'running') throw new VmNotRunningError(`${vm} is ${state} (${domain.info.flags}): cannot attach`, this.context(vm));
    const type = await this.domainType(domain);
    const held = (await this.passthroughDevices(vm)).filter((d) => request.functions.includes(d));
    if (held.length) throw new VmDeviceBusyError(`${vm} already holds ${held.join(', ')}`, { ...this.context(vm), device: held.join(', ') });
    await this.makeAssignable(vm, request.functions);

    const vslot = type === 'pv' ? undefined : request.guestSlot?.slot ?? (request.freeSlot ? undefined : domain.config.gpuSlot);
    const attached: PciAddress[] = [];
    try {
      // Function 0 first: one pci-attach per function (PV: each is exported on its own; HVM: same vslot).
      for (const fn of request.functions) {
        const spec = vslot === undefined ? fn : `${fn}@${vslot.toString(16).padStart(2, '0')}`;
        const run = await this.xl(vm, ['pci-attach', domain.config.domain, spec], fn);
        attached.push(fn);
        if (type === 'pv') await this.waitAttached(vm, domain.info.domid, fn, run);
      }
      const listed = await this.pciList(vm);
      const missing = request.functions.filter((f) => !listed.some((e) => e.device === f));
      if (missing.length) {
        throw new VmCommandFailedError(`${vm}: xl pci-attach exited 0, but xl pci-list does not show ${missing.join(', ')}`,
          { ...this.context(vm), device: missing.join(', ') });
      }
      const first = listed.find((e) => e.device === request.functions[0]);
      return {
        deviceIds: [...request.functions],
        guestSlot: { bus: type === 'pv' ? 'pcifront' : 'pci.0', slot: first?.vslot ?? 0 },
        verifiedBy: 'object-model',
      };
    } catch (error) {
      // Best effort: what got in goes out again, last first.
      for (const fn of attached.reverse()) await this.xl(vm, ['pci-detach', domain.config.domain, fn], fn).catch(() => undefined);
      throw error;
    }
  }

  async detachGpu(vm: VmName, functions: readonly PciAddress[], options: DetachGpuOptions): Promise<DetachGpuResult> {
    const started = Date.now();
    const domain = await this.find(vm);
    if (!domain) return { removed: [], alreadyAbsent: [...functions] };
    const held = (await this.pciList(vm)).map((e) => e.device).filter((d) => functions.includes(d));
    const alreadyAbsent = functions.filter((f) => !held.includes(f));
    if (held.length === 0) return { removed: [], alreadyAbsent };
    const force = options.force === true;
    const state = vmStateFromFlags(domain.info.flags);
    if (state === 'paused' && !force) {
      // xl would write the request, wait ~10 s for a frontend that cannot run, log "Backend … not ready",
      // exit 0, and leave the function half-removed (taken from the domain, still in its PV backend).
      throw new VmNotRunningError(`${vm} is paused: a paused guest cannot answer a PCI detach (xl pci-detach would stall, then leave `
        + `${held.join(', ')} half-removed); resume ${vm}, or configure release: force-detach`, { ...this.context(vm), device: held.join(', ') });
    }
    if (state === 'paused' && force && held.length > 1) {
      // Seen in the Xen lab: the first forced detach leaves the PV backend Reconfiguring (the paused
      // frontend cannot answer), and every further pci-detach -f then waits for it, says "Backend …
      // not ready", exits 0 and removes nothing: the GPU would end up split. Refuse before touching it.
      throw new VmNotRunningError(`${vm} is paused: even a forced detach removes only one function from a paused PV guest (the backend `
        + `stays Reconfiguring after the first), and ${held.join(', ')} must move together; resume ${vm} first`, { ...this.context(vm), device: held.join(', ') });
    }
    const type = await this.domainType(domain);
    // Non-zero functions first, function 0 last: the reverse of attach.
    const order = [...held].sort((a, b) => (functionOf(a) === 0 ? 1 : 0) - (functionOf(b) === 0 ? 1 : 0));
    const removed: PciAddress[] = [];
    for (const fn of order) {
      const run = await this.xl(vm, ['pci-detach', ...(force ? ['-f'] : []), domain.config.domain, fn], fn);
      const deadline = started + options.deadlineMs;
      if (type === 'pv') await this.waitDetached(vm, domain.info.domid, fn, run, { deadline, deadlineMs: options.deadlineMs, force });
      removed.push(fn);
    }
    const left = await this.passthroughDevices(vm);
    const still = removed.filter((f) => left.includes(f));
    if (still.length) {
      throw new GuestDidNotReleaseError(`${vm}: xl pci-detach${force ? ' -f' : ''} exited 0, but xl pci-list still shows ${still.join(', ')}`,
        { ...this.context(vm), device: still.join(', ') }, still, options.deadlineMs);
    }
    return { removed, alreadyAbsent };
  }

  async shutdown(vm: VmName, options: ShutdownOptions): Promise<ShutdownResult> {
    const config = this.config(vm);
    const domain = await this.find(vm);
    if (!domain) return { outcome: 'already-off' };
    const { waitMs, force } = shutdownWait(options);
    if (vmStateFromFlags(domain.info.flags) !== 'crashed') {
      let why = '';
      const asked = await this.xl(vm, ['shutdown', config.domain]).then(() => true, (error: unknown) => {
        if (error instanceof VmNotFoundError) return null; // gone between the look and the request
        // No PV control interface (guest without PV drivers): it cannot be asked; only a forced destroy ends it.
        if (error instanceof VmNotRunningError || error instanceof VmCommandFailedError) {
          why = error.message;
          return false;
        }
        throw error;
      });
      if (asked === null) return { outcome: 'already-off' };
      if (asked && await this.waitGone(vm, waitMs)) return { outcome: 'graceful' };
      if (!force && asked) throw new VmTimeoutError(shutdownAbandonedMessage(vm, waitMs), this.context(vm), 'shutdown', waitMs);
      if (!force) throw new VmInvalidRequestError(`${vm} cannot be asked to shut down (${why}); it keeps running; set release.forceAfterSeconds to let Baton destroy it`, this.context(vm));
    } else if (!force) {
      throw new VmInvalidRequestError(`${vm} has crashed and cannot shut down by itself; it keeps its devices until it is destroyed (xl destroy), or set release.forceAfterSeconds to let Baton do that`, this.context(vm));
    }
    const destroyed = await this.xl(vm, ['destroy', config.domain]).then(() => true, (error: unknown) => {
      if (error instanceof VmNotFoundError) return false;
      throw error;
    });
    return { outcome: destroyed ? 'forced' : 'graceful' };
  }

  async start(vm: VmName, options: StartOptions): Promise<StartResult> {
    const config = this.config(vm);
    if (!config.configFile) {
      throw new VmInvalidRequestError(`${vm}: no xl domain config file is configured (configFile), so Baton cannot start it`, this.context(vm));
    }
    const domain = await this.find(vm);
    if (domain && vmStateFromFlags(domain.info.flags) !== 'shut-off') {
      throw new VmAlreadyRunningError(`${vm} is not shut off (${domain.info.flags})`, this.context(vm));
    }
    const untrusted = this.options.fileProblems?.(config.configFile) ?? [];
    if (untrusted.length) throw new VmInvalidRequestError(`${vm}: refusing to run xl create ${config.configFile} as root: ${untrusted.join('; ')}`, this.context(vm));
    const args = ['create', config.configFile];
    if (options.withGpu) {
      const problem = attachRequestProblem(options.withGpu);
      if (problem) throw new VmInvalidRequestError(`${vm}: cannot start with ${options.withGpu.functions.join(', ')}: ${problem}`, this.context(vm));
      await this.makeAssignable(vm, options.withGpu.functions);
      // xl create takes KEY=VALUE lines after the file; this one replaces the file's own pci= for this boot.
      args.push(`pci=[${options.withGpu.functions.map((f) => JSON.stringify(f)).join(',')}]`);
    }
    try {
      await this.xl(vm, args, undefined, options.deadlineMs);
    } catch (error) {
      throw asStartFailure(vm, error);
    }
    // xl's own daemon watches the domain; there is no process of Baton's to report.
    return { pid: null };
  }

  /** xl has no event stream to follow: nothing is emitted (the engine polls state and devices). */
  events(_listener: VmEventListener): Unsubscribe {
    return () => undefined;
  }

  async close(): Promise<void> {
    // Nothing stays open: every call is one xl or xenstore process.
  }

  // --- internals ---

  /** Functions not yet in pciback's pool go there (libxl unbinds the current driver and remembers it). */
  private async makeAssignable(vm: VmName, functions: readonly PciAddress[]): Promise<void> {
    const pool = parseOr(vm, 'xl pci-assignable-list', (await this.xl(vm, ['pci-assignable-list'])).stdout, parseAssignableList);
    for (const fn of functions) {
      if (!pool.some((d) => d.address === fn)) await this.xl(vm, ['pci-assignable-add', fn], fn);
    }
  }

  private async waitAttached(vm: VmName, domid: number, fn: PciAddress, run: ToolRun): Promise<void> {
    const limit = this.options.attachTimeoutMs ?? DEFAULT_ATTACH_TIMEOUT_MS;
    const done = (b: PciBackendState) => b.state?.code === XENBUS_CONNECTED
      && b.devices.some((d) => d.address === fn && (d.state?.code === XENBUS_INITIALISED || d.state?.code === XENBUS_CONNECTED));
    const last = await this.watch(vm, domid, fn, 'attach', done, Date.now() + limit);
    if (done(last)) return;
    const stall = backendNotReady(run.stderr);
    throw new VmTimeoutError(`${vm}: ${fn} was not exported to the guest within ${limit} ms; the PV backend stopped at ${describePciBackend(last)}`
      + (stall ? ` (xl: ${stall})` : ''), { ...this.context(vm), device: fn, ...messageOf(run) }, 'xl pci-attach', limit);
  }

  private async waitDetached(vm: VmName, domid: number, fn: PciAddress, run: ToolRun,
    limits: { deadline: number; deadlineMs: number; force: boolean }): Promise<void> {
    const gone = (b: PciBackendState) => !b.devices.some((d) => d.address === fn);
    // libxl gave up waiting for the frontend: nothing moves any more, so there is no point waiting.
    const stall = backendNotReady(run.stderr);
    const last = await this.watch(vm, domid, fn, 'detach', gone, stall ? Date.now() : limits.deadline);
    if (gone(last)) return;
    const device = last.devices.find((d) => d.address === fn);
    if (limits.force && device?.state?.code === XENBUS_CLOSING) {
      // -f: libxl took the function from the domain (xc_deassign_device runs before the xenstore step), then
      // waited for a frontend that cannot answer. The keys stay at Closing so the guest drops the device when
      // it runs again; they are tidied once the backend is Connected again (tidyClosed).
      return;
    }
    throw new GuestDidNotReleaseError(`${vm} did not release ${fn}: the PV backend stopped at ${describePciBackend(last)}`
      + (stall ? ` (xl: ${stall}; libxl has given up waiting)` : ` after ${limits.deadlineMs} ms`),
    { ...this.context(vm), device: fn, ...messageOf(run) }, [fn], limits.deadlineMs);
  }

  /** Polls the backend until `done` or the deadline (at least one look); reports every change. */
  private async watch(vm: VmName, domid: number, fn: PciAddress, operation: 'attach' | 'detach',
    done: (b: PciBackendState) => boolean, deadline: number): Promise<PciBackendState> {
    const began = Date.now();
    let previous = '';
    for (;;) {
      const { backend } = await this.readBackend(vm, domid);
      const summary = describePciBackend(backend);
      if (summary !== previous) {
        previous = summary;
        try {
          this.options.onBackendState?.({ vm, operation, device: fn, atMs: Date.now() - began, backend, summary });
        } catch {
          // An observer's fault must not break the operation.
        }
      }
      if (done(backend) || Date.now() >= deadline) return backend;
      await sleep(Math.min(this.options.pollMs ?? 100, Math.max(0, deadline - Date.now())));
    }
  }

  /** `xenstore ls -f` of the domain's PV PCI backend; a missing directory is an absent backend. */
  private async readBackend(vm: VmName, domid: number): Promise<{ backend: PciBackendState; entries: Map<string, string> }> {
    const path = pciBackendPath(domid);
    const run = await this.xenstore(vm, ['ls', '-f', path]).catch((error: unknown) => {
      if (isVmBackendError(error) && /No such file or directory|ENOENT/.test(error.hypervisorMessage ?? '')) return null;
      throw error;
    });
    const entries = run ? parseOr(vm, 'xenstore ls', run.stdout, parseXenstoreLs) : new Map<string, string>();
    if (run) entries.set(path, '');
    return { backend: pciBackendFromEntries(entries, domid), entries };
  }

  /**
   * Finishes what libxl left undone after a detach it gave up on: a function still at Closing (5) in a
   * backend that is Connected (4) again has been let go by the guest, and only libxl's last step is missing:
   * remove its keys, move the later ones down, lower num_devs (libxl__device_pci_remove_xenstore).
   * One function at a time, reading the backend again after each.
   */
  private async tidyClosed(vm: VmName, domid: number, first: { backend: PciBackendState; entries: Map<string, string> }): Promise<PciBackendState> {
    let { backend, entries } = first;
    for (;;) {
      const stale = backend.devices.filter((d) => d.state?.code === XENBUS_CLOSING).pop();
      if (backend.state?.code !== XENBUS_CONNECTED || !stale) return backend;
      const num = backend.numDevs ?? backend.devices.length;
      const key = (k: string, i: number) => `${backend.path}/${k}-${i}`;
      const writes: string[] = [];
      for (let j = stale.index + 1; j < num; j++) {
        for (const k of DEVICE_KEYS) {
          const value = entries.get(key(k, j));
          if (value !== undefined) writes.push(key(k, j - 1), value);
        }
      }
      await this.xenstore(vm, ['write', ...writes, `${backend.path}/num_devs`, String(Math.max(0, num - 1))]);
      const last = DEVICE_KEYS.map((k) => key(k, num - 1)).filter((k) => entries.has(k));
      if (last.length) await this.xenstore(vm, ['rm', ...last]);
      ({ backend, entries } = await this.readBackend(vm, domid));
    }
  }

  private async waitGone(vm: VmName, deadlineMs: number): Promise<boolean> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const domain = await this.find(vm);
      if (!domain || vmStateFromFlags(domain.info.flags) === 'shut-off') return true;
      if (Date.now() >= deadline) return false;
      await sleep(Math.min(STATE_POLL_MS, Math.max(0, deadline - Date.now())));
    }
  }

  private async pciList(vm: VmName): Promise<XlPciListEntry[]> {
    const run = await this.xl(vm, ['pci-list', this.config(vm).domain]);
    return parseOr(vm, 'xl pci-list', run.stdout, parseXlPciList);
  }

  private async domains(vm: VmName): Promise<XlDomain[]> {
    return parseOr(vm, 'xl list', (await this.xl(vm, ['list'])).stdout, parseXlList);
  }

  /** The VM's domain, or null when xl does not list it (it is off). */
  private async find(vm: VmName): Promise<Domain | null> {
    const config = this.config(vm);
    const info = (await this.domains(vm)).find((d) => d.name === config.domain);
    return info ? { vm, config, info } : null;
  }

  private async domainType(domain: Domain): Promise<string> {
    const known = this.types.get(domain.info.domid);
    if (known) return known;
    const run = await this.xl(domain.vm, ['list', '-l', domain.config.domain]);
    const entry = parseOr(domain.vm, 'xl list -l', run.stdout, parseXlListLong).find((d) => d.domid === domain.info.domid);
    if (!entry) throw new VmProtocolError(`${domain.vm}: xl list -l does not describe domain ${domain.info.domid}`, this.context(domain.vm));
    this.types.set(domain.info.domid, entry.type);
    return entry.type;
  }

  private xl(vm: VmName, args: readonly string[], device?: PciAddress, timeoutMs?: number): Promise<ToolRun> {
    return runTool(this.options.xlPath ?? 'xl', args, this.toolOptions(vm, device, timeoutMs));
  }

  private xenstore(vm: VmName, args: readonly string[]): Promise<ToolRun> {
    return runTool(this.options.xenstorePath ?? 'xenstore', args, this.toolOptions(vm));
  }

  private toolOptions(vm: VmName, device?: PciAddress, timeoutMs?: number) {
    return {
      vm,
      timeoutMs: timeoutMs ?? this.options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      ...(device ? { device } : {}),
      ...(this.options.env ? { env: this.options.env } : {}),
    };
  }

  private config(vm: VmName): XenVmConfig {
    const config = this.options.vms.find((v) => v.name === vm);
    if (!config) throw new VmNotFoundError(`no Xen VM named ${vm} is configured`, this.context(vm));
    return config;
  }

  private context(vm: VmName): { vm: string; hypervisor: 'xen' } {
    return { vm, hypervisor: 'xen' };
  }
}

function statusOf(info: XlDomain | undefined): VmStatus {
  return info ? { state: vmStateFromFlags(info.flags), raw: info.flags } : { state: 'shut-off', raw: 'absent' };
}

function messageOf(run: ToolRun): Pick<VmErrorContext, 'hypervisorMessage'> {
  return run.stderr.trim() ? { hypervisorMessage: run.stderr.trim() } : {};
}

function parseOr<T>(vm: VmName, what: string, text: string, parse: (text: string) => T): T {
  try {
    return parse(text);
  } catch (error) {
    if (!(error instanceof XenFormatError)) throw error;
    throw new VmProtocolError(`${vm}: ${error.message}`, { vm, hypervisor: 'xen', hypervisorMessage: text.slice(0, 4000), cause: error });
  }
}

function asStartFailure(vm: VmName, error: unknown): VmBackendError {
  if (error instanceof VmAlreadyRunningError) return error;
  if (!(error instanceof VmCommandFailedError)) return isVmBackendError(error) ? error : new VmStartFailedError(`${vm}: ${String(error)}`, { vm, hypervisor: 'xen', cause: error });
  return new VmStartFailedError(error.message, {
    vm, hypervisor: 'xen', cause: error,
    ...(error.hypervisorMessage === undefined ? {} : { hypervisorMessage: error.hypervisorMessage }),
    ...(error.hypervisorErrorClass === undefined ? {} : { hypervisorErrorClass: error.hypervisorErrorClass }),
  });
}
