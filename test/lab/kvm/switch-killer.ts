// Runs inside L1 (compiled into dist/ with the project): SIGKILLs the helper the moment its
// write-ahead journal says a switch is in a given step. A shell loop polling the journal is too slow
// under TCG (each grep costs a fork and exec) to catch a hot-plug that takes a few hundred ms; this
// watches the journal's folder (inotify) and also reads the file every few ms.
//
//   node dist/test/tools/switch-killer.js JOURNAL STEP PID READY_FILE DEADLINE_SECONDS [SIGNAL]
//
// Writes READY_FILE once watching (so the caller starts the switch only then), prints the journal
// record it saw on stdout and exits 0 after the kill; exits 1 if the step never came. SIGNAL is
// SIGKILL unless given (SIGSTOP freezes the helper where it is, for the caller to look first).
import { readFileSync, watch, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';

function main(argv: string[]): void {
  const [journal, step, pidText, readyFile, deadlineText, signalText = 'SIGKILL'] = argv;
  const signal = signalText as NodeJS.Signals;
  const pid = Number(pidText);
  if (!journal || !step || !Number.isInteger(pid) || pid <= 1 || !readyFile || !deadlineText) {
    throw new Error('usage: switch-killer.js JOURNAL STEP PID READY_FILE DEADLINE_SECONDS [SIGNAL]');
  }
  const started = performance.now();
  let done = false;
  const check = () => {
    if (done) return;
    let text: string;
    try {
      text = readFileSync(journal, 'utf8');
    } catch {
      return; // no switch under way yet
    }
    let record: { current?: unknown; phase?: unknown };
    try {
      record = JSON.parse(text) as typeof record;
    } catch {
      return; // caught between write and rename cannot happen (rename is atomic), but be safe
    }
    if (record.current !== step || record.phase !== 'forward') return;
    done = true;
    process.kill(pid, signal);
    process.stdout.write(`${JSON.stringify({ signal, killedAtMs: Math.round(performance.now() - started), record })}\n`);
    process.exit(0);
  };
  const watcher = watch(dirname(journal), (_event, file) => { if (file === null || file === basename(journal)) check(); });
  const poll = setInterval(check, 5);
  setTimeout(() => {
    watcher.close();
    clearInterval(poll);
    process.stderr.write(`switch-killer: the journal never showed step ${step} within ${deadlineText} s\n`);
    process.exit(1);
  }, Number(deadlineText) * 1000);
  writeFileSync(readyFile, 'ready\n');
}

try {
  main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`switch-killer: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
