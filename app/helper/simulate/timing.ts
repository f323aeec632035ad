// How long each simulated step takes, in the ranges the KVM lab measured, scaled by `speed`.
// Timers are the global setTimeout looked up at call time, so vi.useFakeTimers() drives them.
import type { ResetMethodName } from '../../domain/switch/ports.js';
import type { Hypervisor } from '../../domain/vm/errors.js';
import { waitedOn } from '../../domain/time/wait-meter.js';

export interface Latencies {
  /** vfio-pci takes one function (driver_override, unbind, drivers_probe). */
  claimFunctionMs: number;
  /** modprobe vfio-pci, the first time. */
  loadVfioMs: number;
  /** One function leaves vfio-pci and probes its host driver. */
  releaseFunctionMs: number;
  resetMs: Record<Exclude<ResetMethodName, 'auto'>, number>;
  /** Reading the option ROM through sysfs. */
  romCaptureMs: number;
  /** Hot-plug of a whole GPU and the guest seeing it, per hypervisor. */
  attachMs: Record<Hypervisor, number>;
  /** Hot-unplug: the guest's acknowledgement after the request. */
  detachMs: number;
  /** Xen's forced detach (xl pci-detach -f): no guest involved. */
  forceDetachMs: number;
  /** A guest powering off after the power button. */
  shutdownMs: number;
  /** The hypervisor starting a VM until it runs. */
  startMs: number;
  pauseMs: number;
  /** A status query (query-status, virsh domstate, xl list). */
  queryMs: number;
}

export const DEFAULT_LATENCIES: Latencies = {
  claimFunctionMs: 75,
  loadVfioMs: 80,
  releaseFunctionMs: 120,
  resetMs: { flr: 100, pm: 150, bus: 1000, device_specific: 250, hot_reset: 1000 },
  romCaptureMs: 60,
  attachMs: { qmp: 300, libvirt: 800, xen: 2000 },
  detachMs: 1500,
  forceDetachMs: 200,
  shutdownMs: 4000,
  startMs: 3000,
  pauseMs: 20,
  queryMs: 5,
};

/** The deadlines the real adapters keep on their own (a timeout fault waits this long, scaled). */
export const ADAPTER_DEADLINES = {
  /** app/host/kernel/kernel-writer.ts DEFAULT_WRITE_DEADLINE_MS */
  kernelWriteMs: 10_000,
  /** The QMP client's default command timeout. */
  commandMs: 10_000,
  /** app/host/reset/reset.ts: the kernel polls a slow device for up to 60 s. */
  resetMs: 70_000,
  startMs: 30_000,
};

export interface LatencyOverrides extends Partial<Omit<Latencies, 'resetMs' | 'attachMs'>> {
  resetMs?: Partial<Latencies['resetMs']>;
  attachMs?: Partial<Latencies['attachMs']>;
}

export function mergeLatencies(overrides: LatencyOverrides = {}): Latencies {
  return {
    ...DEFAULT_LATENCIES,
    ...overrides,
    resetMs: { ...DEFAULT_LATENCIES.resetMs, ...overrides.resetMs },
    attachMs: { ...DEFAULT_LATENCIES.attachMs, ...overrides.attachMs },
  };
}

export class SimClock {
  /** speed multiplies every simulated latency: 1 real-time, 0.01 a hundred times faster, 0 instant. */
  constructor(public speed: number) {
    if (!(speed >= 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be a finite number >= 0, not ${speed}`);
  }

  scaled(ms: number): number {
    return ms * this.speed;
  }

  /** Waits a simulated latency (scaled by speed). */
  step(ms: number): Promise<void> {
    return this.wait(this.scaled(ms));
  }

  /** Waits real milliseconds: a caller's deadline is the caller's, never scaled. */
  wait(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    // The simulated device's or VM's time, counted as a wait as the real one is.
    return waitedOn(new Promise((resolve) => setTimeout(resolve, ms)));
  }
}
