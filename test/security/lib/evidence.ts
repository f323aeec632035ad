// What an attack must not change, taken before and after it: the simulated machine's drivers and
// owners (the sysfs drivers, which functions each VM holds), the ownership registry, the journal
// folder, the history, and every other file of the state folder (modes and owners included), each
// as a sha256 of its exact bytes. Two equal evidences mean nothing was touched.
import { createHash } from 'node:crypto';
import { appendFileSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SimulatedWorkstation } from '../../../app/helper/simulate/index.js';

export interface Evidence {
  /** Each function's driver and holder, each VM's state and held functions (the simulated sysfs and hypervisors). */
  machine: string;
  registry: string;
  journal: string;
  history: string;
  /** Every entry of the state folder: path, type, mode, owner, bytes (the socket by its type only). */
  stateFolder: string;
}

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function fileDigest(path: string): string {
  try {
    return sha(readFileSync(path));
  } catch (err) {
    return `absent (${(err as NodeJS.ErrnoException).code})`;
  }
}

/** A folder, recursively, links not followed: names, types, modes, owners and contents. */
export function treeDigest(root: string): string {
  const lines: string[] = [];
  const walk = (path: string) => {
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st) return void lines.push(`${relative(root, path)} absent`);
    const head = `${relative(root, path) || '.'} ${st.mode.toString(8)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) lines.push(`${head} -> ${readlinkSync(path)}`);
    else if (st.isDirectory()) {
      lines.push(`${head} dir`);
      for (const name of readdirSync(path).sort()) walk(join(path, name));
    } else if (st.isFile()) lines.push(`${head} ${sha(readFileSync(path))}`);
    else lines.push(`${head} other`);
  };
  walk(root);
  return sha(lines.join('\n'));
}

export function takeEvidence(dir: string, sim: SimulatedWorkstation | null): Evidence {
  const snap = sim?.snapshot();
  const machine = snap
    ? sha(JSON.stringify({ functions: snap.functions, gpus: snap.gpus, vms: snap.vms, vfio: snap.vfioLoaded, faults: snap.faults }))
    : 'no machine (the helper never started)';
  return {
    machine,
    registry: fileDigest(join(dir, 'ownership.json')),
    journal: treeDigest(join(dir, 'journal')),
    history: fileDigest(join(dir, 'history.jsonl')),
    stateFolder: treeDigest(dir),
  };
}

/** The parts that differ, by name; empty when nothing was touched. */
export function changed(before: Evidence, after: Evidence): string[] {
  return (Object.keys(before) as (keyof Evidence)[]).filter((k) => before[k] !== after[k]);
}

/** A short form for the report: the first 12 hex digits of the state folder's digest and of the machine's. */
export function short(e: Evidence): string {
  return `state ${e.stateFolder.slice(0, 12)}, ${e.machine.startsWith('no machine') ? 'no machine: never started' : `machine ${e.machine.slice(0, 12)}`}`;
}

export interface AttackRecord {
  attack: string;
  how: string;
  refused: string;
  logged: string;
  before: string;
  after: string;
  identical: boolean | 'n/a';
  note?: string;
}

/**
 * One line of JSON per attack into $BATON_SECURITY_REPORT (bench/security-table.mjs turns it into
 * the table in bench/RESULTS.md). Nothing is written without the variable.
 */
export function record(entry: AttackRecord): void {
  const file = process.env.BATON_SECURITY_REPORT;
  if (file) appendFileSync(file, JSON.stringify({ ...entry, at: new Date().toISOString() }) + '\n');
}
