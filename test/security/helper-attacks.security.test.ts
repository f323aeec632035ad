// Attacks on the running helper (issue 13, item 4), each against the real daemon over its socket,
// started as root runs it (hardened-helper.ts), with clients as other uids through setuid children.
// Each attack must be refused with a clear message and logged, and must touch nothing: the
// simulated machine's drivers and holders, the registry, the journal folder, the history and every
// other file of the state folder are the same bytes before and after (evidence.ts). Bounded case
// counts here; BATON_SECURITY_FULL=1 (npm run bench -- --full) runs more.
import { chmodSync, linkSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { findGpu, resolveTarget, type BatonConfig } from '../../app/domain/config/index.js';
import { RpcErrorCode } from '../../app/protocol/rpc-errors.js';
import { startUi, type UiServer } from '../../app/ui/server.js';
import { connectAs, floodAs, line } from './lib/as-user.js';
import { changed, record, short, takeEvidence, type Evidence } from './lib/evidence.js';
import { ALLOWED_UID, HELPER_GROUP, NOBODY, removeStateFolder, startHardenedHelper, type HardenedHelper } from './lib/hardened-helper.js';
import { RawClient } from './lib/raw-client.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stdout.write('helper-attacks.security: SKIPPED: the attacks need root (the helper runs as root; clients as other uids are setuid children)\n');
const FULL = process.env.BATON_SECURITY_FULL === '1' || process.env.BATON_FUZZ_FULL === '1';
const CRAFTED_CASES = FULL ? 20_000 : 200;
const FLOOD_CONNECTIONS = FULL ? 200 : 40;
const PER_UID_LIMIT = 32; // DEFAULT_LIMITS.maxConnectionsPerUid: the helper as root runs it

let helper: HardenedHelper;
let root: RawClient;
let config: BatonConfig;

/** A switch that would change things if it ran: gpu-a sits in win11 (beforeAll), so "host" moves it. */
const HARMFUL_SWITCH = { gpu: 'gpu-a', target: 'host', requestedBy: 'cli' };

beforeAll(async () => {
  if (!isRoot) return;
  helper = await startHardenedHelper();
  config = helper.sim.config;
  root = await RawClient.open(helper.socketPath);
  // A state worth protecting: both GPUs away from the host, two history entries, a registry.
  for (const [gpu, target] of [['gpu-a', 'win11'], ['gpu-b', 'park']] as const) {
    const answer = await root.call('switch', { gpu, target, requestedBy: 'cli' });
    expect(answer.result).toMatchObject({ outcome: 'succeeded', owner: target });
  }
}, 60_000);

afterAll(async () => {
  root?.close();
  await helper?.stop();
  if (helper) removeStateFolder(helper.dir);
});

const evidence = (): Evidence => takeEvidence(helper.dir, helper.sim);
/** The log lines written since `mark` (an index into helper.logs). */
const logSince = (mark: number) => helper.logs.slice(mark).join('\n');

/** Runs `attack`, then checks and records that it touched nothing. */
async function attempt(name: string, how: string, attack: () => Promise<{ refused: string; logged: string }>): Promise<void> {
  const before = evidence();
  const { refused, logged } = await attack();
  // A round trip after the attack: anything it set going inside the helper would have landed by now.
  expect((await root.call('status')).result).toBeDefined();
  const after = evidence();
  record({ attack: name, how, refused, logged, before: short(before), after: short(after), identical: changed(before, after).length === 0 });
  expect(changed(before, after)).toEqual([]);
}

describe.skipIf(!isRoot)('attacks on the running helper (as root, real daemon, real socket)', () => {
  it('the evidence can fail: an allowed switch changes it, an idle helper does not', async () => {
    const a = evidence();
    await new Promise((r) => setTimeout(r, 300));
    expect(changed(a, evidence())).toEqual([]);
    const moved = await root.call('switch', { gpu: 'gpu-b', target: 'host', requestedBy: 'cli' });
    expect(moved.result).toMatchObject({ outcome: 'succeeded' });
    const b = evidence();
    expect(changed(a, b)).toEqual(expect.arrayContaining(['machine', 'registry', 'history', 'stateFolder']));
    expect((await root.call('switch', { gpu: 'gpu-b', target: 'park', requestedBy: 'cli' })).result).toMatchObject({ outcome: 'succeeded' });
  });

  it('a uid that is not allowed is refused, named, and logged; its switch never runs', async () => {
    const mark = helper.logs.length;
    await attempt('peer uid not allowed', `setuid child uid ${NOBODY.uid} gid ${NOBODY.gid} sends switch gpu-a → host`, async () => {
      const answer = await connectAs(NOBODY.uid, NOBODY.gid, helper.socketPath, line(1, 'switch', HARMFUL_SWITCH));
      expect(answer.messages).toHaveLength(1);
      expect(answer.messages[0]).toMatchObject({ id: null, error: { code: RpcErrorCode.NotAuthorized } });
      expect(answer.closedByHelper).toBe(true);
      const message = answer.messages[0]!.error!.message;
      expect(message).toBe(`uid ${NOBODY.uid} (nobody) may not use the Baton helper: only root, members of group ${HELPER_GROUP.name} and the users in helper.users may`);
      const logged = logSince(mark);
      expect(logged).toMatch(new RegExp(`refused pid \\d+: uid ${NOBODY.uid} \\(nobody\\) may not`));
      return { refused: message, logged: logged.split('\n').find((l) => l.startsWith('refused pid'))! };
    });
  });

  it('a process whose group is not the helper group is refused; one in that group is let in', async () => {
    const mark = helper.logs.length;
    await attempt('peer group not allowed', `setuid child uid ${NOBODY.uid} gid 100 (users; helper.group is ${HELPER_GROUP.name}) sends switch gpu-a → host`, async () => {
      const answer = await connectAs(NOBODY.uid, 100, helper.socketPath, line(1, 'switch', HARMFUL_SWITCH));
      expect(answer.messages[0]).toMatchObject({ id: null, error: { code: RpcErrorCode.NotAuthorized } });
      // The control: the same uid with the helper group as its gid gets in (hello only: it changes nothing).
      const member = await connectAs(NOBODY.uid, HELPER_GROUP.gid, helper.socketPath, line(1, 'hello'));
      expect(member.messages[0]).toMatchObject({ id: 1, result: { uid: NOBODY.uid } });
      const logged = logSince(mark);
      expect(logged).toMatch(/refused pid \d+: uid 65534 \(nobody\) may not/);
      return { refused: answer.messages[0]!.error!.message, logged: logged.split('\n').find((l) => l.startsWith('refused pid'))! };
    });
  });

  it('the socket reached through a symlink or a hard link elsewhere still checks the peer', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'baton-security-links-'));
    chmodSync(elsewhere, 0o755); // nobody must reach the links
    try {
      const sym = join(elsewhere, 'sym.sock');
      const hard = join(elsewhere, 'hard.sock');
      symlinkSync(helper.socketPath, sym);
      linkSync(helper.socketPath, hard);
      const mark = helper.logs.length;
      await attempt('socket reached through a link', `setuid child uid ${NOBODY.uid} connects through a symlink and a hard link in /tmp, sends switch gpu-a → host`, async () => {
        const answers = [];
        for (const path of [sym, hard]) {
          const answer = await connectAs(NOBODY.uid, NOBODY.gid, path, line(1, 'switch', HARMFUL_SWITCH));
          expect(answer.messages).toEqual([expect.objectContaining({ id: null, error: expect.objectContaining({ code: RpcErrorCode.NotAuthorized }) })]);
          answers.push(answer);
        }
        const refusedLines = logSince(mark).split('\n').filter((l) => l.startsWith('refused pid'));
        expect(refusedLines).toHaveLength(2);
        return { refused: answers[0]!.messages[0]!.error!.message, logged: refusedLines.join(' / ') };
      });
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('GPUs and VMs the config does not name are refused and logged', async () => {
    const mark = helper.logs.length;
    await attempt('devices and VMs outside the config', 'root: switch gpu-z → host, gpu-a → evil-vm, history vm evil-vm', async () => {
      const answers = [
        await root.call('switch', { gpu: 'gpu-z', target: 'host', requestedBy: 'cli' }),
        await root.call('switch', { gpu: 'gpu-a', target: 'evil-vm', requestedBy: 'cli' }),
        await root.call('history', { vm: 'evil-vm' }),
      ];
      for (const a of answers) expect(a.error?.code).toBe(RpcErrorCode.UnknownName);
      expect(answers[0]!.error!.message).toBe('unknown GPU "gpu-z": the config names gpu-a, gpu-b (by name or PCI address)');
      expect(answers[1]!.error!.message).toBe('unknown target "evil-vm": expected one of host, park, win11, linux-dev, vm-xen');
      const lines = logSince(mark).split('\n').filter((l) => l.startsWith('refused '));
      expect(lines).toHaveLength(3);
      expect(lines[0]).toBe('refused switch from uid 0 (root): unknown GPU "gpu-z": the config names gpu-a, gpu-b (by name or PCI address)');
      return { refused: `${answers[0]!.error!.message}; ${answers[1]!.error!.message}`, logged: lines[0]! };
    });
  });

  it('PCI addresses of devices outside the config are refused, even the GPU\'s own companion and the boot VGA', async () => {
    const mark = helper.logs.length;
    const addresses = ['0000:03:00.0', '0000:00:01.0', '0000:01:00.1', '0000:ff:1f.7', '0000:00:1f.2'];
    await attempt('addresses outside the config', `root: switch ${addresses.join(', ')} (NIC, boot VGA, gpu-a's audio function, absent, SATA) → win11`, async () => {
      const answers = [];
      for (const gpu of addresses) answers.push(await root.call('switch', { gpu, target: 'win11', requestedBy: 'cli' }));
      for (const a of answers) expect(a.error?.code).toBe(RpcErrorCode.UnknownName);
      expect(answers[0]!.error!.message).toBe('unknown GPU "0000:03:00.0": the config names gpu-a, gpu-b (by name or PCI address)');
      const lines = logSince(mark).split('\n').filter((l) => l.startsWith('refused switch'));
      expect(lines).toHaveLength(addresses.length);
      return { refused: answers[0]!.error!.message, logged: lines[0]! };
    });
  });

  it(`crafted names (.., /, links, NUL, very long, look-alikes): ${CRAFTED_CASES} random cases, every one refused, nothing touched`, async () => {
    const fragments = ['..', '/', '\u0000', 'gpu-a', 'gpu-b', 'host', 'win11', '0000:01:00.0', '%2e%2e', '\\', '\n', ' ', '\u202e', 'ﬁ', 'ＧＰＵ', '/proc/self/root', '/run/baton/helper.sock', '$(id)', '`id`', ';', '*', '~'];
    const crafted = fc.oneof(
      fc.array(fc.constantFrom(...fragments), { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')),
      fc.string({ unit: 'binary', minLength: 0, maxLength: 200 }),
      fc.integer({ min: 129, max: 200_000 }).map((n) => 'a'.repeat(n)),
      fc.constantFrom('../../etc/shadow', 'gpu-a/../gpu-b', 'gpu-a\u0000', 'win11\u0000/../host', '.', '', ' gpu-a', 'GPU-A', '01:00.0/../02:00.0'),
    );
    const before = evidence();
    const mark = helper.logs.length;
    const suppressedBefore = helper.daemon.stats().suppressedLogLines;
    let refusals = 0;
    let firstRefusal = '';
    const seed = Number(process.env.BATON_FUZZ_SEED ?? Date.now() % 2 ** 31);
    await fc.assert(
      fc.asyncProperty(crafted, fc.constantFrom('gpu', 'target', 'history-gpu', 'history-vm'), async (text, where) => {
        fc.pre(!(where === 'gpu' || where === 'history-gpu' ? findGpu(config, text) : resolveTarget(config, text)));
        const answer =
          where === 'gpu' ? await root.call('switch', { gpu: text, target: 'host', requestedBy: 'cli' })
          : where === 'target' ? await root.call('switch', { gpu: 'gpu-a', target: text, requestedBy: 'cli' })
          : await root.call('history', where === 'history-gpu' ? { gpu: text } : { vm: text });
        expect([RpcErrorCode.UnknownName, RpcErrorCode.InvalidParams]).toContain(answer.error?.code);
        expect(answer.error!.message.length).toBeLessThan(2000);
        refusals++;
        firstRefusal ||= answer.error!.message;
      }),
      { numRuns: CRAFTED_CASES, seed },
    );
    expect((await root.call('status')).result).toBeDefined();
    const after = evidence();
    // Each refusal logged once, or counted by the rate limit (a flood must not fill the journal).
    const logged = logSince(mark).split('\n').filter((l) => l.startsWith('refused '));
    const suppressed = helper.daemon.stats().suppressedLogLines - suppressedBefore;
    expect(logged.length + suppressed).toBe(refusals);
    record({
      attack: 'crafted names and paths', how: `root: ${refusals} fast-check cases (seed ${seed}): switch gpu / target, history gpu / vm from .., /, NUL, links' paths, 129–200,000 chars, binary, look-alikes`,
      refused: `every case UnknownName or InvalidParams, e.g. ${firstRefusal.slice(0, 120)}`, logged: `${logged.length} lines + ${suppressed} counted by the rate limit (= ${refusals}); e.g. ${logged[0]?.slice(0, 100) ?? ''}`,
      before: short(before), after: short(after), identical: changed(before, after).length === 0,
    });
    expect(changed(before, after)).toEqual([]);
  }, 600_000);

  it('a line over the 1 MiB limit is refused and the connection closed before anything is parsed', async () => {
    const mark = helper.logs.length;
    await attempt('oversized client', 'root: one switch request line of 2 MiB (gpu-a → host, padded)', async () => {
      const client = await RawClient.open(helper.socketPath);
      client.socket.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'switch', params: { ...HARMFUL_SWITCH, pad: 'x'.repeat(2 * 1024 * 1024) } }) + '\n');
      expect(await client.untilClosed(10_000)).toBe(true);
      expect(client.unpaired[0]).toMatchObject({ id: null, error: { code: RpcErrorCode.MessageTooLarge } });
      const logged = logSince(mark).split('\n').find((l) => l.includes('a line over'));
      expect(logged).toBe('closed uid 0 (root): a line over 1048576 bytes');
      return { refused: client.unpaired[0]!.error!.message, logged: logged! };
    });
  });

  it('a slow client whose request line never ends is closed at the line deadline', async () => {
    const mark = helper.logs.length;
    await attempt('slow client', 'root: a switch gpu-a → host sent one byte every 250 ms, never finished (the helper\'s 10 s line deadline)', async () => {
      const client = await RawClient.open(helper.socketPath);
      const text = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'switch', params: HARMFUL_SWITCH });
      let i = 0;
      const drip = setInterval(() => {
        if (!client.closed && i < text.length) client.socket.write(text[i++]!);
      }, 250);
      const closed = await client.untilClosed(20_000);
      clearInterval(drip);
      expect(closed).toBe(true);
      expect(client.unpaired[0]).toMatchObject({ id: null, error: { code: RpcErrorCode.Timeout } });
      const logged = logSince(mark).split('\n').find((l) => l.includes('still incomplete'));
      expect(logged).toBe('closed uid 0 (root): a request line still incomplete after 10000 ms');
      return { refused: client.unpaired[0]!.error!.message, logged: logged! };
    });
  }, 30_000);

  it(`a connection flood from one allowed user stops at ${PER_UID_LIMIT} connections; other users still get in`, async () => {
    const mark = helper.logs.length;
    await attempt('connection flood from one allowed user', `setuid child uid ${ALLOWED_UID} (in helper.users) opens ${FLOOD_CONNECTIONS} connections and keeps them: the first ${PER_UID_LIMIT} send hello, the rest switch gpu-a → host`, async () => {
      // Root checks the others still get in while the flood holds its connections.
      const during = (async () => {
        await new Promise((r) => setTimeout(r, 1500));
        return root.call('status');
      })();
      const answers = await floodAs(ALLOWED_UID, ALLOWED_UID, helper.socketPath, FLOOD_CONNECTIONS, PER_UID_LIMIT, line(1, 'switch', HARMFUL_SWITCH));
      const served = answers.filter((a) => a.answer?.result);
      const busy = answers.filter((a) => a.answer?.error?.code === RpcErrorCode.Busy);
      expect(served).toHaveLength(PER_UID_LIMIT);
      expect(busy).toHaveLength(FLOOD_CONNECTIONS - PER_UID_LIMIT);
      expect((await during).result).toBeDefined();
      const message = busy[0]!.answer!.error!.message;
      expect(message).toBe(`busy: uid ${ALLOWED_UID} already has ${PER_UID_LIMIT} connections to the helper open (limit ${PER_UID_LIMIT} per user); close some and try again`);
      const lines = logSince(mark).split('\n').filter((l) => l.startsWith('busy:'));
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.length + (logSince(mark).match(/busy: (\d+) more like it/)?.length ?? 0)).toBeGreaterThan(0);
      return { refused: message, logged: `${lines[0]} (${lines.length} lines; the rest counted by the rate limit)` };
    });
    // The flood's connections are gone: the user gets in again.
    const again = await connectAs(ALLOWED_UID, ALLOWED_UID, helper.socketPath, line(1, 'hello'));
    expect(again.messages[0]).toMatchObject({ id: 1, result: { uid: ALLOWED_UID } });
  }, 120_000);

  describe('the browser UI (baton ui) in front of this helper', () => {
    let ui: UiServer;
    const uiLog: string[] = [];
    let dist: string;
    beforeAll(async () => {
      dist = mkdtempSync(join(tmpdir(), 'baton-security-dist-'));
      ui = await startUi({ socketPath: helper.socketPath, distDir: dist, log: (l) => uiLog.push(l) });
    });
    afterAll(async () => {
      await ui?.close();
      rmSync(dist, { recursive: true, force: true });
    });

    /** Opens /ws with these subprotocols; the HTTP status and body that refused it, or 'open'. */
    const openWs = (protocols: string[]): Promise<{ status: number | 'open'; body: string }> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://${ui.host}:${ui.port}/ws`, protocols, { headers: { Origin: ui.origin } });
        ws.once('open', () => {
          ws.close();
          resolve({ status: 'open', body: '' });
        });
        ws.once('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
        });
        ws.once('error', reject);
      });

    it('refuses a WebSocket without the token or with a wrong one, and logs it', async () => {
      const mark = uiLog.length;
      await attempt('browser UI without or with a wrong token', '`baton ui` (startUi) on this helper: /ws with no token, with a wrong token (same length), with the token of another server', async () => {
        const none = await openWs(['baton.v1']);
        const wrong = await openWs(['baton.v1', `baton.token.${'A'.repeat(ui.token.length)}`]);
        const other = await openWs(['baton.v1', 'baton.token.c29tZW9uZS1lbHNlcy10b2tlbg']);
        expect(none.status).toBe(401);
        expect(wrong.status).toBe(403);
        expect(other.status).toBe(403);
        // The control: the real token opens it.
        expect((await openWs(['baton.v1', `baton.token.${ui.token}`])).status).toBe('open');
        const lines = uiLog.slice(mark).filter((l) => l.startsWith('refused a WebSocket'));
        expect(lines).toHaveLength(3);
        return { refused: `401 "${none.body}" / 403 "${wrong.body}"`, logged: `${lines[0]} / ${lines[1]}` };
      });
    });
  });

  it('a client that subscribes and never reads is dropped at its bound; the others are served and nothing is lost', async () => {
    const mark = helper.logs.length;
    const deaf = await RawClient.open(helper.socketPath);
    expect((await deaf.call('subscribe')).result).toEqual({ subscribed: true });
    expect((await deaf.call('desk.subscribe')).result).toMatchObject({ subscribed: true });
    deaf.socket.pause(); // reads nothing from now on: the kernel buffer fills, then the helper's
    const before = evidence();
    const ids: Record<'gpu-a' | 'gpu-b', string[]> = { 'gpu-a': [], 'gpu-b': [] };
    // Each GPU round its own targets (one guest slot per VM), both at once.
    const rounds = { 'gpu-a': ['win11', 'host', 'park'], 'gpu-b': ['linux-dev', 'host', 'park'] };
    const started = Date.now();
    let switches = 0;
    const isDropped = () => helper.logs.slice(mark).some((l) => l.includes('bytes of answers and events unread'));
    const limit = FULL ? 20_000 : 6_000;
    const drive = async (gpu: 'gpu-a' | 'gpu-b') => {
      for (let i = 0; !isDropped() && switches < limit; i++) {
        const answer = await root.call('switch', { gpu, target: rounds[gpu][i % 3], requestedBy: 'cli' });
        expect(answer.result).toMatchObject({ outcome: 'succeeded' });
        ids[gpu].push((answer.result as { switchId: string }).switchId);
        switches++;
      }
    };
    await Promise.all([drive('gpu-a'), drive('gpu-b')]);
    const dropped = helper.logs.slice(mark).find((l) => l.includes('bytes of answers and events unread'));
    let lost = 0;
    let checked = 0;
    for (const gpu of ['gpu-a', 'gpu-b'] as const) {
      const last = ids[gpu].slice(-1000);
      const history = await root.call('history', { gpu, limit: 1000 });
      const recorded = new Set((history.result as { entries: { id: string }[] }).entries.map((e) => e.id));
      lost += last.filter((id) => !recorded.has(id)).length;
      checked += last.length;
    }
    const after = evidence();
    record({
      attack: 'client that never reads its events',
      how: `root: subscribe + desk.subscribe, then never read, while another connection ran ${switches} switches (${Math.round((Date.now() - started) / 1000)} s)`,
      refused: dropped ? 'dropped: its connection closed by the helper' : 'not dropped within the bound',
      logged: dropped ?? '(none)',
      before: short(before), after: short(after), identical: 'n/a',
      note: `the switches are another client's, allowed; checked instead: ${switches} answered, ${lost} of them (the last 1,000 of each GPU) missing from the history, the helper's connections ${helper.daemon.connections()}`,
    });
    expect(dropped).toMatch(/^dropped uid 0 \(root\): \d+ bytes of answers and events unread \(limit 16777216\)$/);
    deaf.socket.resume(); // to see the helper's end of the connection behind what it had sent
    expect(await deaf.untilClosed(30_000)).toBe(true);
    expect(checked).toBeGreaterThan(0);
    expect(lost).toBe(0);
    deaf.close();
  }, 900_000);
});
