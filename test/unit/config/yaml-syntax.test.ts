// Broken YAML is reported as FILE:LINE:COL lines too, before any schema check.
import { describe, expect, it } from 'vitest';
import { formatConfigError, parseConfig } from '../../../app/domain/config/index.js';
import { configLocator } from '../../../app/domain/config/positions.js';
import { fixture, positionOfText } from './fixture.js';

function errorLines(text: string, file: string): string[] {
  const result = parseConfig(text, file);
  return result.ok ? [] : result.errors.map(formatConfigError);
}

describe('YAML syntax errors', () => {
  // Found by the config fuzz (seed 894340223, path 9): thousands of `key: value` pairs on one line ran
  // the yaml parser out of stack, and parseConfig threw a RangeError instead of naming the line.
  it('reports a line packed with mappings that runs the parser out of stack at that line, not as a throw', () => {
    const packed = '      address: "0000:01:00.0"'.repeat(20_000);
    const text = `gpus:\n  - name0\n    match:\n${packed}\n    name: gpu1\n`;
    expect(errorLines(text, 'packed.yaml')).toEqual([
      `packed.yaml:4:1: the YAML nests too deeply to read (the parser ran out of stack; line 4 holds ${packed.length} characters): put each key on its own line`,
    ]);
    // The settings view and `config check` locate paths in the same text: 1:1, never a throw in the helper.
    expect(configLocator(text)(['gpus', 0, 'name'])).toEqual({ line: 1, col: 1 });
    expect(configLocator('gpus:\n  - name: a\n')(['gpus', 0, 'name'])).toEqual({ line: 2, col: 11 });
  });

  it('reports an unclosed flow mapping where the parser gave up', () => {
    const { text, file } = fixture('bad-yaml.yaml');
    const lines = errorLines(text, file);
    expect(lines.length).toBeGreaterThan(0);
    // The parser notices the missing "}" at the next key, "vms:".
    const { line, col } = positionOfText(text, 'vms:');
    expect(lines[0]).toMatch(new RegExp(`^${file}:${line}:${col}: \\S`));
  });

  it('reports a duplicate key at the second occurrence', () => {
    const { text, file } = fixture('duplicate-key.yaml');
    const { line, col } = positionOfText(text, 'name:', 1);
    expect(errorLines(text, file)).toEqual([`${file}:${line}:${col}: duplicate key (each key may appear once in a mapping)`]);
  });

  it('reports a tab used as indentation', () => {
    const { text, file } = fixture('tab-indent.yaml');
    const { line, col } = positionOfText(text, '\t');
    expect(errorLines(text, file)[0]).toBe(`${file}:${line}:${col}: tab used for indentation; indent with spaces`);
  });

  it('reports a second document', () => {
    const text = 'gpus: []\n---\nvms: []\n';
    const { line, col } = positionOfText(text, '---');
    expect(errorLines(text, 'f.yaml')).toEqual([`f.yaml:${line}:${col}: the file holds more than one YAML document; remove the "---" separator`]);
  });

  it('reports an alias with no anchor', () => {
    const text = 'gpus: []\nvms: *machines\n';
    const { line, col } = positionOfText(text, '*machines');
    expect(errorLines(text, 'f.yaml')).toEqual([`f.yaml:${line}:${col}: unknown alias *machines (no &machines anchor before it)`]);
  });

  it('reports an empty file and a top level that is not a mapping', () => {
    expect(errorLines('# nothing yet\n', 'f.yaml')).toEqual(['f.yaml:1:1: the file is empty; it should start with top-level keys such as gpus: and vms:']);
    expect(errorLines('- gpus\n', 'f.yaml')).toEqual(['f.yaml:1:1: the file is not a mapping; it should start with top-level keys such as gpus: and vms:']);
  });

  it('treats an unknown tag as an error', () => {
    const text = 'gpus: !include gpus.yaml\n';
    expect(errorLines(text, 'f.yaml')[0]).toMatch(/^f\.yaml:1:\d+: .*!include/);
  });
});
