// Root runs start.argv[0] only when root alone can change it: the helper gives the backend the
// host's trust check, and a program below a folder others can write is refused before any spawn.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { QmpBackend } from '../../../../app/backends/qmp/backend.js';
import { VmInvalidRequestError } from '../../../../app/domain/vm/errors.js';
import { checkProgramPath, describeProblem } from '../../../../app/host/trust/paths.js';
import { tempDir } from './qemu-harness.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stderr.write('SKIPPED test/unit/backends/qmp/start-trust.test.ts: not root, so no program here is root-owned\n');

describe.skipIf(!isRoot)('QMP start: the program trust check', () => {
  it('refuses a program in a folder others can write, naming it, and runs nothing', () => {
    const open = tempDir();
    fs.chmodSync(open, 0o777);
    const marker = path.join(open, 'ran');
    const program = path.join(open, 'qemu-wrapper');
    fs.writeFileSync(program, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const backend = new QmpBackend({
      vms: [{ name: 'vm-a', socketPath: path.join(tempDir(), 'a.sock'), argv: [program] }],
      programProblems: (p) => checkProgramPath(p).map(describeProblem),
    });
    return backend.start('vm-a', { deadlineMs: 2_000 }).then(
      () => { throw new Error('expected a refusal'); },
      (err: unknown) => {
        expect(err).toBeInstanceOf(VmInvalidRequestError);
        expect((err as Error).message).toContain(`vm-a: refusing to run ${program} as root: ${open} is writable by others`);
        expect(fs.existsSync(marker)).toBe(false);
      },
    );
  });
});
