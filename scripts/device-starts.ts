/**
 * Device-creation failure rate across process starts (not part of CI): starts N processes that each
 * create the engine's device, fill a small tensor on it and read it back, and counts the ones that
 * fail, by first line of their error. --gc-stress K runs the children with
 * BUN_JSC_slowPathAllocsBetweenGCs=K (a collection every K-th slow-path allocation), which turns a
 * garbage-collection race that strikes about one start in a hundred into one that strikes most;
 * --root points at another checkout (e.g. an older commit) to compare.
 *
 *   bun scripts/device-starts.ts [--runs 100] [--gc-stress 20] [--root .]
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '100' }, 'gc-stress': { type: 'string' }, root: { type: 'string', default: '.' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a positive integer, got ${values.runs}`);
const stress = values['gc-stress'];
if (stress !== undefined && !/^[1-9]\d*$/.test(stress)) throw new Error(`--gc-stress: expected a positive integer, got ${stress}`);
const root = resolve(values.root!);

const child = `
const { Engine } = await import(${JSON.stringify(`${root}/src/engine/engine.ts`)});
const e = await Engine.create({ log: false });
const t = e.fill(e.empty([37]), 2.5);
const v = await t.read();
if (v.length !== 37 || v.some((x) => x !== 2.5)) throw new Error('wrong values: ' + Array.from(v).join(','));
console.log('ok');
`;

const env = { ...process.env, ...(stress ? { BUN_JSC_slowPathAllocsBetweenGCs: stress } : {}) };
const failures = new Map<string, number>();
let failed = 0;
for (let i = 0; i < runs; i++) {
  const p = Bun.spawnSync([process.execPath, '-e', child], { env, stdout: 'pipe', stderr: 'pipe' });
  const out = p.stdout.toString();
  if (p.exitCode === 0 && out.trim().endsWith('ok')) continue;
  failed++;
  const lines = p.stderr.toString().split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Warning:') && !/^\s+at /.test(l));
  const err = lines.find((l) => /^\w*(Error|error):/.test(l)) ?? lines.at(-1) ?? `exit ${p.exitCode}`;
  const why = err.replace(/SType::\d+/g, 'SType::<n>').trim().slice(0, 160);
  failures.set(why, (failures.get(why) ?? 0) + 1);
}
console.log(`${root}${stress ? ` (BUN_JSC_slowPathAllocsBetweenGCs=${stress})` : ''}: ${failed} of ${runs} starts failed`);
for (const [why, n] of failures) console.log(`  ${n}× ${why}`);
