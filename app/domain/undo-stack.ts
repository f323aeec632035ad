// Every prepare paired with its undo: steps push their undo as they succeed; a failure unwinds
// them newest first, and an undo that fails is reported, never hidden, while the rest still run.

export interface UnwindReport {
  undone: string[];
  failed: string[];
}

export class UndoStack {
  private readonly undos: { label: string; run: () => Promise<void> | void }[] = [];

  push(label: string, run: () => Promise<void> | void): void {
    this.undos.push({ label, run });
  }

  get size(): number {
    return this.undos.length;
  }

  /** Runs every undo, newest first; `runOne` may wrap each (e.g. under a deadline). */
  async unwind(runOne: (label: string, run: () => Promise<void> | void) => Promise<void> = async (_label, run) => { await run(); }): Promise<UnwindReport> {
    const report: UnwindReport = { undone: [], failed: [] };
    while (this.undos.length) {
      const undo = this.undos.pop()!;
      try {
        await runOne(undo.label, undo.run);
        report.undone.push(undo.label);
      } catch (err) {
        report.failed.push(`${undo.label}: ${(err as Error).message}`);
      }
    }
    return report;
  }

  /** Success: the undos are no longer needed. */
  clear(): void {
    this.undos.length = 0;
  }
}
