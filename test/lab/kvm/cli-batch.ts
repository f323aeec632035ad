// Runs inside L1 (compiled into dist/ with the project): many `baton` commands in ONE node process,
// through the CLI's own entry point (runCli), recorded exactly like handoff-lib.sh's `baton` does
// (cmd/NAME.{out,err,meta}). Under TCG a node start-up costs seconds; 40 claim/release runs as
// separate processes cost the handoff suite minutes.
//
//   node dist/test/tools/cli-batch.js STEPS_FILE
//
// STEPS_FILE, one step a line:
//   baton NAME ARG...   runs `baton ARG...` in this process; meta gets rc, ms and fds (this process's
//                       open file descriptors afterwards: a leak across runs shows as growth)
//   sh SCRIPT...        runs SCRIPT with /bin/sh -c (snapshots, waits), env inherited, plus
//                       LAB_DRIVER_PID (this process, which snapshots leave out of their process list)
// Arguments are split on spaces (no quoting: the job writes only addresses, names and flags).
// Environment: OUT (the results folder), CMD_DEADLINE (seconds per command, default 120).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../../app/cli/main.js';

const OUT = process.env.OUT ?? process.env.LAB_SHARE ?? '.';
const DEADLINE_MS = Number(process.env.CMD_DEADLINE ?? 120) * 1000;

const stamp = () => new Date().toISOString().slice(11, 19);

/** Runs the CLI with stdout and stderr captured; rc 124 when it misses the deadline (as `timeout`). */
async function baton(name: string, argv: string[]): Promise<void> {
  const out: string[] = [];
  const err: string[] = [];
  const realOut = process.stdout.write.bind(process.stdout);
  const realErr = process.stderr.write.bind(process.stderr);
  const capture = (into: string[]) => ((chunk: string | Uint8Array) => {
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  process.exitCode = undefined;
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let rc: number;
  try {
    rc = await Promise.race([
      runCli(argv),
      new Promise<number>((resolve) => { timer = setTimeout(() => resolve(124), DEADLINE_MS); }),
    ]);
  } finally {
    clearTimeout(timer);
    process.stdout.write = realOut;
    process.stderr.write = realErr;
    process.exitCode = undefined;
  }
  const ms = Math.round(performance.now() - t0);
  const base = join(OUT, 'cmd', name);
  writeFileSync(`${base}.out`, out.join(''));
  writeFileSync(`${base}.err`, err.join(''));
  writeFileSync(`${base}.meta`, `rc ${rc}\nms ${ms}\nfds ${await settledFdCount()}\n`);
  realOut(`[${stamp()}] ${name}: exit ${rc} in ${ms} ms (in one process)\n`);
  if (rc !== 0) realOut(err.join('').split('\n').slice(-8).map((l) => `    ${l}`).join('\n') + '\n');
  // A command still running cannot be stopped from here: end the batch, the job records the rest.
  if (rc === 124) process.exit(124);
}

/**
 * Open descriptors once the command's children are reaped and their pipes closed (the event loop
 * does that after the command returns): the count when it is the same twice 50 ms apart (max 3 s).
 */
async function settledFdCount(): Promise<number> {
  let last = -1;
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const now = readdirSync('/proc/self/fd').length;
    if (now === last) return now;
    last = now;
  }
  return last;
}

function sh(script: string): void {
  const r = spawnSync('/bin/sh', ['-c', script], { stdio: 'inherit', env: { ...process.env, LAB_DRIVER_PID: String(process.pid) }, timeout: DEADLINE_MS });
  if (r.status !== 0) process.stdout.write(`[${stamp()}] sh step exited ${r.status ?? r.signal}: ${script}\n`);
}

const file = process.argv[2];
if (!file) throw new Error('usage: cli-batch.js STEPS_FILE');
for (const line of readFileSync(file, 'utf8').split('\n')) {
  const [kind, ...rest] = line.trim().split(/\s+/);
  if (!kind || kind.startsWith('#')) continue;
  if (kind === 'baton') {
    const [name, ...argv] = rest;
    if (!name) throw new Error(`${file}: a baton step needs a name: ${line}`);
    await baton(name, argv);
  } else if (kind === 'sh') {
    sh(line.trim().slice(2).trim());
  } else {
    throw new Error(`${file}: unknown step "${kind}": ${line}`);
  }
}
