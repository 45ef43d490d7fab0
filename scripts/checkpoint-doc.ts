/**
 * Rewrites the tensor table of docs/checkpoint-format.md (its last section: every tensor name and
 * shape of the paper preset's stage-2 model, from-scratch image paths) from the model itself; the
 * prose above it is edited by hand. Run after changing a layer's parameters:
 *
 *   bun scripts/checkpoint-doc.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Engine } from '../src/engine/index.ts';
import { FROM_SCRATCH, makeConfig } from '../src/model/config.ts';
import { LrdifModel } from '../src/model/lrdif.ts';

const DOC = 'docs/checkpoint-format.md';
const HEADING = '## Tensors of the paper preset, stage 2';

const e = await Engine.create({ log: false });
const m = new LrdifModel(e, makeConfig('paper', FROM_SCRATCH), 2, 0);
const rows = [...m.namedParameters()].map(([n, t]) => `| \`${n}\` | [${t.shape.join(', ')}] | ${t.size.toLocaleString('en-US')} |`);
const text = readFileSync(DOC, 'utf8');
const at = text.indexOf(HEADING);
if (at < 0) throw new Error(`${DOC}: no "${HEADING}" section to rewrite`);
const note = "(Written by `bun scripts/checkpoint-doc.ts` from the model itself; rerun it after changing a layer's parameters.)";
const table = [`${HEADING} (${m.numParameters().toLocaleString('en-US')} parameters)`, '', note, '', '| name | shape | elements |', '|---|---|---|', ...rows, ''].join('\n');
writeFileSync(DOC, text.slice(0, at) + table);
console.log(`rewrote the tensor table of ${DOC} (${rows.length} tensors)`);
process.exit(0);
