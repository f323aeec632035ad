// Log lines a client can cause (refusals, drops, timeouts) are rate-limited per kind, so a flood of
// connections cannot fill the journal: a burst passes, the rest are counted and summed up once the
// window ends ("… 4,980 more like it in the last 10 s").

export interface LogLimit {
  /** Lines of one kind that pass in a window. */
  burst: number;
  windowMs: number;
}

export const DEFAULT_LOG_LIMIT: LogLimit = { burst: 10, windowMs: 10_000 };

interface Window {
  startedAt: number;
  shown: number;
  suppressed: number;
  timer: NodeJS.Timeout | null;
}

export class RateLimitedLog {
  private readonly windows = new Map<string, Window>();
  private suppressedTotal = 0;

  constructor(
    private readonly log: (line: string) => void,
    private readonly limit: LogLimit = DEFAULT_LOG_LIMIT,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs `text` unless `kind` already had its burst in this window. */
  line(kind: string, text: string): void {
    let w = this.windows.get(kind);
    const now = this.now();
    if (w && now - w.startedAt >= this.limit.windowMs) {
      this.summarize(kind, w);
      w = undefined;
    }
    if (!w) {
      w = { startedAt: now, shown: 0, suppressed: 0, timer: null };
      this.windows.set(kind, w);
    }
    if (w.shown < this.limit.burst) {
      w.shown++;
      this.log(text);
      return;
    }
    w.suppressed++;
    this.suppressedTotal++;
    if (!w.timer) {
      const window = w;
      w.timer = setTimeout(() => {
        if (this.windows.get(kind) === window) this.summarize(kind, window);
      }, Math.max(0, this.limit.windowMs - (now - w.startedAt)));
      w.timer.unref();
    }
  }

  /** Lines not written so far (for tests and stats). */
  suppressed(): number {
    return this.suppressedTotal;
  }

  /** Writes the pending summaries now (on close). */
  flush(): void {
    for (const [kind, w] of this.windows) this.summarize(kind, w);
  }

  private summarize(kind: string, w: Window): void {
    if (w.timer) clearTimeout(w.timer);
    this.windows.delete(kind);
    if (w.suppressed) this.log(`${kind}: ${w.suppressed} more like it in the last ${Math.round((this.now() - w.startedAt) / 1000)} s, not logged one by one`);
  }
}
