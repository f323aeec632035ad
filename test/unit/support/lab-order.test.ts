// The lab suites' order: suites that boot the tiny-kernel guest run last (npm test builds that
// kernel in the background meanwhile), Xen suites before them, the rest first.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labRank } from '../../lab/lib/lab-order.js';

const REPO = resolve(import.meta.dirname, '../../..');
const suites = (dir: string) => readdirSync(join(REPO, dir)).filter((f) => f.endsWith('.lab.test.ts')).map((f) => join(REPO, dir, f));
const rankOf = (file: string) => labRank(readFileSync(file, 'utf8'), file);

describe('labRank', () => {
  it('puts the suites that import the tiny kernel last and the Xen suites just before them', () => {
    const kvm = suites('test/lab/kvm');
    const tiny = kvm.filter((f) => rankOf(f) === 2).map((f) => f.split('/').pop());
    expect(tiny).toEqual(expect.arrayContaining(['qmp-nested.lab.test.ts', 'switch-helper.lab.test.ts']));
    expect(kvm.filter((f) => rankOf(f) === 0).map((f) => f.split('/').pop())).toEqual(expect.arrayContaining(['handoff.lab.test.ts', 'boot.lab.test.ts']));
    for (const f of suites('test/lab/xen')) expect(rankOf(f), f).toBe(1);
  });

  it('ranks by what a suite imports, not by its name', () => {
    expect(labRank("import { buildTinyKernel } from '../lib/tiny-kernel.js';", '/r/test/lab/kvm/new.lab.test.ts')).toBe(2);
    expect(labRank('', '/r/test/lab/kvm/tiny-kernel-named.lab.test.ts')).toBe(0);
  });
});
