// Fuzz of the QMP client against a scripted QEMU on a real Unix socket: around each answer the
// "QEMU" sends partial lines, invalid JSON, non-QMP objects, unexpected events, answers to ids
// nobody asked, second greetings, over-long lines, all split at random points. The client never
// throws out of its event handlers, never resolves a command with another one's answer, and
// settles every command: with its own return value, or with a typed VmBackendError.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { QmpClient } from '../../app/backends/qmp/client.js';
import { isVmBackendError, VmProtocolError, VmTimeoutError } from '../../app/domain/vm/errors.js';
import { checkAsync } from './lib/runs.js';

const MAX_LINE = 16 * 1024;
const GREETING = '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "fuzz"}, "capabilities": ["oob"]}}';
const dir = mkdtempSync(join(tmpdir(), 'baton-fuzz-qmp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const noise = fc.oneof(
  fc.constantFrom('', '\r', '{', '{"return": {}', 'null', '[]', '42', '"text"', '{"id": 1}', '{"return": 1, "error": {}}', GREETING, '{"QMP": 1}',
    '{"error": {"class": "GenericError"}, "id": 999999}', '{"return": {}, "id": 777777}', '{"return": {}}', '{"event": 5}', '{"event": "X", "data": 1}'),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.record({ event: fc.constantFrom('DEVICE_DELETED', 'STOP', 'RESUME', 'SHUTDOWN', 'RESET', 'BLOCK_JOB_READY', 'UNKNOWN_EVENT'), data: fc.jsonValue({ maxDepth: 2 }), timestamp: fc.constant({ seconds: 1, microseconds: 2 }) }).map((e) => JSON.stringify(e)),
  fc.string({ maxLength: 40 }).map((s) => s.replace(/\n/g, ' ')),
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b.map((x) => (x === 0x0a ? 0x20 : x))).toString('latin1')),
);

/** What "QEMU" does with the n-th command. */
const reply = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'return' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'error' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'bad-shape' as const }) }, // an answer with its id that is not QMP
  { weight: 1, arbitrary: fc.constant({ kind: 'twice' as const }) }, // answered, then answered again
  { weight: 1, arbitrary: fc.constant({ kind: 'silent' as const }) }, // never answered: the deadline rejects it
  { weight: 1, arbitrary: fc.constant({ kind: 'huge' as const }) }, // a line over the limit: the connection closes
  { weight: 1, arbitrary: fc.constant({ kind: 'hang-up' as const }) },
);

const script = fc.record({
  greetingNoise: fc.array(noise, { maxLength: 2 }),
  commands: fc.array(fc.record({ reply, before: fc.array(noise, { maxLength: 3 }), after: fc.array(noise, { maxLength: 2 }), crlf: fc.boolean() }), { minLength: 1, maxLength: 6 }),
  chunk: fc.integer({ min: 1, max: 64 }),
  concurrent: fc.boolean(),
});
type Script = typeof script extends fc.Arbitrary<infer T> ? T : never;

function writeSplit(socket: Socket, text: string, chunk: number): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += chunk * 16) socket.write(bytes.subarray(i, i + chunk * 16));
}

/** The scripted QEMU: greeting, capabilities, then each command answered as the script says. */
function scriptedQemu(path: string, s: Script): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    let buffered = '';
    let seen = 0; // the first request is qmp_capabilities
    writeSplit(socket, [...s.greetingNoise, GREETING].join('\n') + '\n', s.chunk);
    socket.on('data', (d) => {
      buffered += d.toString('utf8');
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const request = JSON.parse(buffered.slice(0, nl)) as { execute: string; id: number; arguments?: { token?: string } };
        buffered = buffered.slice(nl + 1);
        const n = seen++ - 1;
        if (n < 0) {
          writeSplit(socket, `{"return": {}, "id": ${JSON.stringify(request.id)}}\n`, s.chunk);
          continue;
        }
        const c = s.commands[n];
        if (!c) continue;
        const eol = c.crlf ? '\r\n' : '\n';
        const id = JSON.stringify(request.id);
        const ret = `{"return": {"token": ${JSON.stringify(request.arguments?.token)}}, "id": ${id}}`;
        const out: string[] = [...c.before];
        switch (c.reply.kind) {
          case 'return': out.push(ret); break;
          case 'error': out.push(`{"error": {"class": "GenericError", "desc": "no"}, "id": ${id}}`); break;
          case 'bad-shape': out.push(`{"id": ${id}, "retrun": {}}`); break;
          case 'twice': out.push(ret, ret); break;
          case 'silent': break;
          case 'huge': out.push(`{"return": "${'x'.repeat(MAX_LINE + 10)}", "id": ${id}}`); break;
          case 'hang-up': writeSplit(socket, out.join(eol) + eol, s.chunk); socket.end(); return;
        }
        out.push(...c.after);
        writeSplit(socket, out.join(eol) + eol, s.chunk);
      }
    });
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

let caseNo = 0;
const tally = { connected: 0, resolved: 0, rejected: 0 };
describe('QMP client on a hostile stream (fuzz)', () => {
  it('settles every command with its own answer or a typed error, and never crashes', async () => {
    await checkAsync('qmp-stream', { quick: 150, full: 5000 }, fc.asyncProperty(script, async (s) => {
      const path = join(dir, `q${caseNo++}.sock`);
      const server = await scriptedQemu(path, s);
      const protocolErrors: VmProtocolError[] = [];
      let client: QmpClient | null = null;
      try {
        try {
          client = await QmpClient.connect({ socketPath: path, vm: 'fuzz-vm', connectTimeoutMs: 3000, commandTimeoutMs: 150, maxLineBytes: MAX_LINE });
        } catch (err) {
          // connect may fail only with a typed error (noise before the greeting may be refused)
          expect(isVmBackendError(err), `connect failed untyped: ${String(err)}`).toBe(true);
          return;
        }
        tally.connected++;
        client.onProtocolError((e) => protocolErrors.push(e));
        client.onEvent(() => { throw new Error('a listener that throws must not break the client'); });
        const run = (i: number) => client!.execute<{ token?: string }>('fuzz-command', { token: `t${i}` }).then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }));
        const outcomes = [];
        if (s.concurrent) outcomes.push(...(await Promise.all(s.commands.map((_, i) => run(i)))));
        else for (let i = 0; i < s.commands.length; i++) outcomes.push(await run(i));
        for (const [i, o] of outcomes.entries()) {
          tally[o.ok ? 'resolved' : 'rejected']++;
          if (o.ok) {
            expect(o.v, `command ${i} resolved with its own answer`).toEqual({ token: `t${i}` });
            continue;
          }
          expect(isVmBackendError(o.e), `command ${i} failed with a typed error: ${String(o.e)}`).toBe(true);
          expect((o.e as Error).message.length).toBeGreaterThan(0);
          // In order, the reply kind decides what a failure may be; concurrently a hang-up or a huge line fails the rest too.
          // A timeout is always allowed (a loaded machine may answer past the 150 ms deadline); any other error
          // for a command QEMU answered properly is wrong.
          if (!s.concurrent && !(o.e instanceof VmTimeoutError) && s.commands.slice(0, i).every((c) => c.reply.kind !== 'huge' && c.reply.kind !== 'hang-up')) {
            expect(s.commands[i]!.reply.kind, `command ${i} failed (${(o.e as Error).message}) though QEMU answered it`).not.toBe('return');
          }
        }
        for (const e of protocolErrors) expect(e).toBeInstanceOf(VmProtocolError);
      } finally {
        client?.close();
        await new Promise((r) => server.close(r));
      }
    }));
    console.log(`qmp-stream: ${tally.connected} sessions negotiated, ${tally.resolved} commands answered, ${tally.rejected} rejected with typed errors`);
    expect(tally.connected).toBeGreaterThan(0);
    expect(tally.resolved).toBeGreaterThan(0);
    expect(tally.rejected).toBeGreaterThan(0);
  });
});
