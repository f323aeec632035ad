#!/usr/bin/env node
// Bundles the built CLI and helper (dist/app, from tsc) into dist/bundle/, and the KVM and Xen labs'
// in-guest tools into dist/test/tools/. A command then loads a few files instead of ~250 modules:
// resolving and reading each module is most of a command's start-up (in the KVM lab, where files
// come over 9p under TCG, `baton helper --help` took 10.7-13.5 s from dist/ and 3.6-4.4 s bundled;
// bench/RESULTS.md). bin/baton runs the bundle when it is at least as new as dist/app/cli/bin.js,
// which every tsc run rewrites; a build that writes only some of dist/ (tsc --watch) must run this
// script too, or bin/baton would run the older bundle.
//
// Every dynamic import stays its own chunk, so a command still loads only what it runs. koffi is
// native and stays in node_modules. The input relay's child is an entry of its own: relay.ts spawns
// it by its path next to itself.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = fileURLToPath(new URL('..', import.meta.url));
const at = (rel) => join(root, rel);
const DAY_MS = 24 * 3600 * 1000;

async function bundle(input, dir) {
  const out = await build({
    input: Object.fromEntries(Object.entries(input).map(([name, rel]) => [name, at(rel)])),
    external: ['koffi'],
    platform: 'node',
    logLevel: 'warn',
    output: { dir: at(dir), format: 'esm', sourcemap: false, entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
  });
  // Chunks of earlier builds (their names carry a hash): dropped once a day old, so a helper still
  // running from an earlier build can load its lazy chunks meanwhile.
  const kept = new Set(out.output.map((o) => o.fileName));
  for (const name of readdirSync(at(dir))) {
    const file = join(at(dir), name);
    if (!kept.has(name) && Date.now() - statSync(file).mtimeMs > DAY_MS) rmSync(file, { force: true });
  }
}

await bundle({ baton: 'dist/app/cli/bin.js', 'relay-child': 'dist/app/host/input/relay-child.js' }, 'dist/bundle');

// The labs' tools that run inside the emulated machines many times per suite. input-lab.ts stays
// unbundled: it spawns app modules by their path in dist/.
await bundle({
  'qmp-tool': 'dist/test/lab/kvm/qmp-tool.js',
  'switch-killer': 'dist/test/lab/kvm/switch-killer.js',
  'cli-batch': 'dist/test/lab/kvm/cli-batch.js',
  'input-helper-lab': 'dist/test/lab/kvm/input-helper-lab.js',
  'backend-driver': 'dist/test/lab/xen/backend-driver.js',
  'node-stress': 'dist/test/lab/xen/node-stress.js',
  'relay-child': 'dist/app/host/input/relay-child.js',
}, 'dist/test/tools');
console.log('bundled dist/bundle (baton) and dist/test/tools (lab tools)');
