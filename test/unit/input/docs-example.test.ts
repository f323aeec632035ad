// docs/input.md's example config must stay valid and mean what it says.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatConfigError, inputsOfGpu, parseConfig } from '../../../app/domain/config/index.js';

const doc = fileURLToPath(new URL('../../../docs/input.md', import.meta.url));

describe('docs/input.md example', () => {
  it('parses, and the inputs follow rtx', () => {
    const yaml = /```yaml\n([\s\S]*?)```/.exec(readFileSync(doc, 'utf8'))?.[1];
    if (yaml === undefined) throw new Error('docs/input.md has no yaml block');
    const r = parseConfig(yaml, doc);
    if (!r.ok) throw new Error(r.errors.map(formatConfigError).join('\n'));
    expect(inputsOfGpu(r.config, 'rtx').map((d) => d.name)).toEqual(['kbd', 'mouse']);
    expect(r.config.inputs.returnChord).toEqual({ keys: ['KEY_LEFTCTRL', 'KEY_RIGHTCTRL'], action: 'host' });
  });
});
