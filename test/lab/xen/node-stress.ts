// Runs inside dom0 of the Xen lab (compiled to dist/): spawns COUNT child processes one after the
// other, as Baton's backends do with xl and xenstore, while churning the JavaScript heap so the
// garbage collector runs in between. Prints "spawned N" every 25 children and "OK N" at the end, so
// a crash (malloc corruption, SIGSEGV) shows how far node got.
import { execFile } from 'node:child_process';

const count = Number(process.argv[2] ?? 500);
const program = process.argv[3] ?? '/bin/true';
const args = process.argv.slice(4);

function spawnOne(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { timeout: 30_000, encoding: 'utf8' }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
}

let garbage: unknown[] = [];
const started = Date.now();
for (let i = 1; i <= count; i++) {
  const out = await spawnOne();
  garbage.push(JSON.parse(JSON.stringify({ i, out, filler: new Array(2000).fill(`x${i}`) })));
  if (garbage.length > 40) garbage = [];
  if (i % 25 === 0) process.stderr.write(`spawned ${i} in ${Date.now() - started} ms\n`);
}
process.stdout.write(`OK ${count} in ${Date.now() - started} ms\n`);
