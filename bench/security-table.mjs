#!/usr/bin/env node
// Prints the security table for bench/RESULTS.md from the records the security suite wrote
// (test/security/lib/evidence.ts `record`, one JSON line per attack): attack, how it was run, the
// refusal, the log line, and the evidence before and after. Nothing here is typed by hand.
//   node bench/security-table.mjs .cache/security-report.jsonl
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.cache/security-report.jsonl';
const rows = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const same = (r) => (r.identical === 'n/a' ? `n/a: ${r.note}` : r.identical ? `**identical** (${r.after})` : `**DIFFERENT**: ${r.before} → ${r.after}`);
console.log(`| attack | how it was run | refused with | logged | before/after (sha256 of the state folder, of the machine) |`);
console.log(`| --- | --- | --- | --- | --- |`);
for (const r of rows) console.log(`| ${cell(r.attack)} | ${cell(r.how)} | ${cell(r.refused)} | ${cell(r.logged)} | ${cell(same(r))}${r.note && r.identical !== 'n/a' ? ` (${cell(r.note)})` : ''} |`);
console.log(`\n${rows.length} attacks, ${rows.filter((r) => r.identical === true).length} with identical evidence, ${rows.filter((r) => r.identical === false).length} different, recorded ${rows[0]?.at ?? '?'} – ${rows.at(-1)?.at ?? '?'}`);
