// A port call that never answers must not hang a switch, and one that answers late must not be
// taken for a failure: a deadline stops the waiting, never the call. The timeout carries the call
// itself (`late`), so the engine can watch it to its end and look at the machine again then.

/** How a call that missed its deadline ended, once it did. */
export type LateOutcome = { ok: true } | { ok: false; error: Error };

export class StepTimeout extends Error {
  constructor(
    readonly what: string,
    readonly ms: number,
    /** Settles when the call that missed the deadline finally ends (never rejects). */
    readonly late: Promise<LateOutcome>,
  ) {
    super(`${what}: no answer within ${ms} ms`);
    this.name = 'StepTimeout';
  }
}

/** Waits for `work` at most `ms`; past that, rejects with a StepTimeout that still follows the call. */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late: Promise<LateOutcome> = work.then(() => ({ ok: true as const }), (error: unknown) => ({ ok: false as const, error: error instanceof Error ? error : new Error(String(error)) }));
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StepTimeout(what, ms, late)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** The kernel writer for this GPU is stuck in the kernel (the host adapter's EWEDGED contract). */
export function isWedged(err: unknown): boolean {
  // Adapters may wrap it (HandoffFailed, ResetFailed): follow the causes.
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, wedged } = e as { code?: unknown; wedged?: unknown };
    // EWEDGED: the lane was already stuck; a timeout that left the call in the kernel wedges it too.
    if (code === 'EWEDGED' || (code === 'ETIMEDOUT' && wedged === true)) return true;
  }
  return false;
}
