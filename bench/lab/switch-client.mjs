// Inside L1, for bench/lab/hook-vs-baton-job.sh: one Baton cycle of moves through the running helper
// from one node process (node's start-up under TCG, seconds, stays outside the timed moves, as for a
// tray app that is already running). Prints one JSON document: each move's wall time around its
// switch request, its result, and its history entry's steps and own time (ownMs).
//   node switch-client.mjs SOCKET GPU TARGET...
const [socket, gpu, ...targets] = process.argv.slice(2);
const { connectHelper } = await import(`${process.env.LAB_REPO}/dist/app/protocol/helper-client.js`);
const client = await connectHelper(socket);
const moves = [];
for (const target of targets) {
  const t0 = performance.now();
  const result = await client.call('switch', { gpu, target, requestedBy: 'cli' }).catch((e) => ({ error: String(e.message ?? e) }));
  moves.push({ target, wallMs: Math.round(performance.now() - t0), result });
}
const history = await client.call('history', { gpu, limit: 50 });
for (const m of moves) {
  const entry = history.entries.find((e) => e.id === m.result.switchId);
  m.steps = entry?.steps ?? null;
  m.from = entry?.from ?? null;
  m.ownMs = entry?.ownMs ?? null;
}
client.close();
process.stdout.write(JSON.stringify(moves));
