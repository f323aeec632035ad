// The VGA lock holders as processes: one child per GPU, kept across handoffs, replaced when it is
// stuck, gone when closed. /dev/null stands in for /dev/vga_arbiter here (writes succeed, reads are
// empty, so another device always looks locked); the real arbiter is driven in the KVM handoff lab.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { VgaLockHolders } from '../../../app/host/vga/lock-holder.js';

const GPU_A = '0000:01:00.0' as PciAddress;
const GPU_B = '0000:02:00.0' as PciAddress;
const open: VgaLockHolders[] = [];
afterEach(() => open.splice(0).forEach((h) => h.close()));

function holders(): VgaLockHolders {
  const h = new VgaLockHolders();
  open.push(h);
  return h;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

describe('VGA lock holders', () => {
  it('keeps one child per GPU across lock and unlock, and a separate one for another GPU', async () => {
    const h = holders();
    const first = await h.lock({ path: '/dev/null', target: GPU_A, others: [], deadline: Date.now() + 5_000 });
    expect(first).toMatchObject({ held: '' });
    const pid = h.pidOf(GPU_A);
    expect(pid).not.toBeNull();
    expect(first).toMatchObject({ pid });
    await h.unlock(GPU_A);
    const second = await h.lock({ path: '/dev/null', target: GPU_A, others: [], deadline: Date.now() + 5_000 });
    expect(second).toMatchObject({ pid });
    await h.unlock(GPU_A);
    await h.lock({ path: '/dev/null', target: GPU_B, others: [], deadline: Date.now() + 5_000 });
    expect(h.pidOf(GPU_B)).not.toBe(pid);
  });

  it('answers busy at the deadline while another device holds a lock, and the child stays usable', async () => {
    const h = holders();
    const answer = await h.lock({ path: '/dev/null', target: GPU_A, others: [GPU_B], deadline: Date.now() + 300 });
    expect(answer).toEqual({ busy: '' });
    expect(await h.lock({ path: '/dev/null', target: GPU_A, others: [], deadline: Date.now() + 5_000 })).toMatchObject({ held: '' });
  });

  it('reports the error when the arbiter cannot be opened', async () => {
    const h = holders();
    expect(await h.lock({ path: join(mkdtempSync(join(tmpdir(), 'baton-vga-')), 'missing'), target: GPU_A, others: [], deadline: Date.now() + 5_000 })).toEqual({ error: 'ENOENT' });
  });

  it('kills and replaces a child that never answers (stuck in the kernel), and the next lock works', async () => {
    const h = holders();
    await h.lock({ path: '/dev/null', target: GPU_A, others: [], deadline: Date.now() + 5_000 });
    const stuckPid = h.pidOf(GPU_A)!;
    // A stopped child answers nothing, as one stuck in the kernel's uninterruptible "lock" would.
    process.kill(stuckPid, 'SIGSTOP');
    const answer = await h.lock({ path: '/dev/null', target: GPU_A, others: [], deadline: Date.now() + 100 });
    expect(answer).toEqual({ noAnswer: true });
    expect(h.pidOf(GPU_A)).toBeNull();
    expect(await gone(stuckPid)).toBe(true);
    expect(await h.lock({ path: '/dev/null', target: GPU_A, others: [], deadline: Date.now() + 5_000 })).toMatchObject({ held: '' });
    expect(h.pidOf(GPU_A)).not.toBe(stuckPid);
  }, 20_000);

  it('holds one lock per GPU at a time: a second hold waits for the first, or says busy at its deadline', async () => {
    const h = holders();
    const order: string[] = [];
    const deadline = () => Date.now() + 5_000;
    const first = h.hold({ path: '/dev/null', target: GPU_A, others: [], deadline: deadline() }, async (answer) => {
      order.push(`first in (${'held' in answer})`);
      await sleep(300);
      order.push('first out');
    });
    const second = h.hold({ path: '/dev/null', target: GPU_A, others: [], deadline: deadline() }, async (answer) => {
      order.push(`second in (${'held' in answer})`);
    });
    await Promise.all([first, second]);
    expect(order).toEqual(['first in (true)', 'first out', 'second in (true)']);

    const long = h.hold({ path: '/dev/null', target: GPU_A, others: [], deadline: deadline() }, () => sleep(1_000));
    const impatient = await h.hold({ path: '/dev/null', target: GPU_A, others: [], deadline: Date.now() + 200 }, async (answer) => answer);
    expect(impatient).toEqual({ busy: `another handoff of ${GPU_A} held the lock past the deadline` });
    await long;
    // Another GPU never waits for this one.
    expect(await h.hold({ path: '/dev/null', target: GPU_B, others: [], deadline: deadline() }, async (answer) => 'held' in answer)).toBe(true);
  }, 20_000);

  it('ends the children when closed', async () => {
    const h = holders();
    await h.lock({ path: '/dev/null', target: GPU_A, others: [], deadline: Date.now() + 5_000 });
    const pid = h.pidOf(GPU_A)!;
    h.close();
    expect(await gone(pid)).toBe(true);
  });

  it('ends its child when the process that started it exits, without keeping that process alive', async () => {
    const script = join(mkdtempSync(join(tmpdir(), 'baton-vga-')), 'hold.ts');
    writeFileSync(script, [
      `import { VgaLockHolders } from ${JSON.stringify(fileURLToPath(new URL('../../../app/host/vga/lock-holder.ts', import.meta.url)))};`,
      'const answer = await new VgaLockHolders().lock({ path: "/dev/null", target: "0000:01:00.0" as never, others: [], deadline: Date.now() + 5000 });',
      'console.log(JSON.stringify(answer));',
    ].join('\n'));
    const child = spawn(process.execPath, ['--import', 'jiti/register', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((done) => child.on('exit', done));
    expect(code).toBe(0);
    const { pid } = JSON.parse(out.trim()) as { pid: number };
    expect(await gone(pid)).toBe(true);
  }, 30_000);
});
