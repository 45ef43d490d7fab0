/**
 * Checkpoint fuzzing: a real checkpoint of a small model, mutated every way a file goes bad (truncated,
 * lying header length or offsets, wrong dtypes and shapes, missing, extra and null entries, bad
 * metadata, NaN/Inf weights, random header byte flips). Every mutant must be refused by both load
 * paths (`loadModel`: eval/predict; `initFromFile`: train --from) with an Error naming the file, and a
 * few representative ones by the CLI too (exit code ≠ 0, `lrdif: <file>: …` on stderr, no hang).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/engine.ts';
import { readCheckpoint, saveCheckpoint } from '../src/model/checkpoint.ts';
import { FROM_SCRATCH, makeConfig, type DeepPartial, type LrdifConfig } from '../src/model/config.ts';
import { initFromCheckpoint, LrdifModel } from '../src/model/lrdif.ts';
import { decodeSafetensors, encodeSafetensors, type StTensor } from '../src/model/safetensors.ts';
import { encodePngChw } from '../src/train/data/png.ts';
import { initFromFile } from '../src/train/pipeline.ts';
import { loadModel } from '../src/train/models-fs.ts';
import { freshSeed, getEngine, rng } from './helpers.ts';

/** A small from-scratch model of the tiny preset (input 64, so `--data synth` and predict's resize fit it). */
const SMALL: DeepPartial<LrdifConfig> = {
  ...FROM_SCRATCH,
  eprDim: 16,
  embedDim: 16,
  imageEncoder: { width: 8, resBlocks: 1 },
  dt: { dims: [8, 16, 32, 64], heads: [1, 1, 2, 4] },
  dil: { dims: [8, 16, 32], heads: [1, 1, 2] },
  vit: { width: 16, heads: 2 },
};

const seed = freshSeed('checkpoint-fuzz');
const random = rng(seed);
const pick = (n: number) => Math.floor(random() * n);

let e: Engine;
let dir: string;
let good: Uint8Array;
let goodPath: string;
/** The stage-1 LRDif model a `--from` baseline checkpoint initialises. */
let warmTarget: LrdifModel;
let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
let dataSection: Uint8Array;
let tensors: Map<string, StTensor>;
let metadata: Record<string, string>;

beforeAll(async () => {
  e = await getEngine();
  dir = mkdtempSync(join(tmpdir(), 'lrdif-ckpt-fuzz-'));
  const cfg = makeConfig('tiny', { ...SMALL, modulation: false });
  const model = new LrdifModel(e, cfg, 1, seed);
  good = await saveCheckpoint(model, { config: cfg, stage: 1 });
  model.dispose();
  goodPath = join(dir, 'good.safetensors');
  writeFileSync(goodPath, good);
  warmTarget = new LrdifModel(e, makeConfig('tiny', SMALL), 1, seed + 1);
  const hlen = Number(new DataView(good.buffer).getBigUint64(0, true));
  header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + hlen)));
  dataSection = good.subarray(8 + hlen);
  const file = decodeSafetensors(good, 'good');
  tensors = file.tensors;
  metadata = file.metadata;
});

afterAll(() => {
  warmTarget?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The file with another header (any JSON value) and the given data section, header length set to match. */
function withHeader(h: unknown, data: Uint8Array = dataSection): Uint8Array {
  const hb = new TextEncoder().encode(JSON.stringify(h));
  const out = new Uint8Array(8 + hb.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  out.set(data, 8 + hb.length);
  return out;
}

/** The header with one tensor entry (or the metadata) replaced by `edit`'s result. */
function editEntry(name: string, edit: (entry: any) => unknown): Uint8Array {
  const h = structuredClone(header) as Record<string, unknown>;
  h[name] = edit(h[name]);
  return withHeader(h);
}

/** A re-encoded file (offsets consistent) after `edit` changes the tensors or metadata. */
function reencode(edit: (t: Map<string, StTensor>, m: Record<string, string>) => void): Uint8Array {
  const t = new Map([...tensors].map(([k, v]) => [k, { ...v, shape: [...v.shape], data: v.data.slice() }]));
  const m = { ...metadata };
  edit(t, m);
  return encodeSafetensors(t, m);
}

function withLength(bytes: Uint8Array, hlen: bigint): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setBigUint64(0, hlen, true);
  return out;
}

function names(filter: (t: StTensor, n: string) => boolean = () => true): string[] {
  return [...tensors].filter(([n, t]) => filter(t, n)).map(([n]) => n);
}

interface Case {
  name: string;
  bytes: Uint8Array;
  /** What the error must say (besides the file's path). */
  message: RegExp;
  /** `--from` leaves a tensor the file lacks fresh (a warm start), so only `loadModel` refuses it. */
  warmStartAccepts?: boolean;
}

function cases(): Case[] {
  const tensorNames = names();
  const someTensor = tensorNames[1 + pick(tensorNames.length - 1)]!;
  const lastByOffset = [...tensorNames].sort((a, b) => (header[b] as any).data_offsets[1] - (header[a] as any).data_offsets[1])[0]!;
  const matrix = names((t) => t.shape.length === 2 && t.shape[0] !== t.shape[1]);
  const conv = names((t) => t.shape.length === 4 && t.shape[0] !== t.shape[1]);
  const first = tensorNames[0]!;
  const second = tensorNames[1]!;
  const off = (n: string) => (header[n] as { data_offsets: [number, number] }).data_offsets;
  const cfg = JSON.parse(metadata.config!);
  const poison = (value: number, all = false) =>
    reencode((t) => {
      const target = t.get(someTensor)!.data as Float32Array;
      if (all) for (const x of t.values()) (x.data as Float32Array).fill(value);
      else target[pick(target.length)] = value;
    });
  return [
    { name: 'empty file', bytes: new Uint8Array(0), message: /truncated \(0 bytes/ },
    { name: 'a PNG, not a checkpoint', bytes: encodePngChw(new Float32Array(3 * 4 * 4), 4, 4), message: /header length \d+ (exceeds|runs past)/ },
    { name: 'header length zero', bytes: withLength(good, 0n), message: /header length is 0/ },
    { name: 'header length huge', bytes: withLength(good, 2n ** 64n - 1n), message: /header length \d+ exceeds the \d+-byte limit/ },
    { name: 'header length 2^40', bytes: withLength(good, 2n ** 40n), message: /exceeds the \d+-byte limit/ },
    { name: 'header length past the end', bytes: withLength(good, BigInt(good.length)), message: /runs past the end of the file/ },
    { name: 'header length one short', bytes: withLength(good, BigInt(good.length - dataSection.length - 9)), message: /trailing bytes|not valid JSON/ },
    { name: 'header not JSON', bytes: withHeader('x').map((b, i) => (i === 8 ? 0x7b : b)), message: /header is not valid JSON/ },
    { name: 'header a JSON array', bytes: withHeader([1, 2]), message: /header is an array, expected a JSON object/ },
    { name: 'header null', bytes: withHeader(null), message: /header is null, expected a JSON object/ },
    { name: 'overlapping offsets', bytes: editEntry(second, (x) => ({ ...x, data_offsets: [off(first)[1] - 4, off(first)[1] - 4 + off(second)[1] - off(second)[0]] })), message: /overlapping|lie outside|trailing/ },
    { name: 'offsets past the data', bytes: editEntry(lastByOffset, (x) => ({ ...x, data_offsets: [off(lastByOffset)[0] + 8, off(lastByOffset)[1] + 8] })), message: /lie outside the \d+-byte data section/ },
    { name: 'offsets reversed', bytes: editEntry(first, (x) => ({ ...x, data_offsets: [off(first)[1], off(first)[0]] })), message: /lie outside/ },
    { name: 'negative offset', bytes: editEntry(first, (x) => ({ ...x, data_offsets: [-4, off(first)[1]] })), message: /invalid data_offsets \[-4,/ },
    { name: 'fractional offset', bytes: editEntry(first, (x) => ({ ...x, data_offsets: [0.5, off(first)[1]] })), message: /invalid data_offsets/ },
    { name: 'offsets missing', bytes: editEntry(first, ({ data_offsets: _, ...x }) => x), message: /invalid data_offsets undefined/ },
    { name: 'gap between tensors', bytes: editEntry(second, (x) => ({ ...x, data_offsets: [off(second)[0] + 4, off(second)[1] + 4] })), message: /gapped|lie outside|overlapping/ },
    { name: 'dtype I32 (same size)', bytes: editEntry(someTensor, (x) => ({ ...x, dtype: 'I32' })), message: new RegExp(`tensor ${someTensor} has dtype I32; an LRDif checkpoint holds F32 tensors only`) },
    { name: 'a real I32 tensor', bytes: reencode((t) => t.set(someTensor, { ...t.get(someTensor)!, dtype: 'I32', data: Int32Array.from(t.get(someTensor)!.data, (v) => Math.round(v * 1e9)) })), message: /has dtype I32; an LRDif checkpoint holds F32 tensors only/ },
    { name: 'dtype F16', bytes: editEntry(someTensor, (x) => ({ ...x, dtype: 'F16' })), message: /has dtype "F16"; supported: F32, I32, U32/ },
    { name: 'dtype null', bytes: editEntry(someTensor, (x) => ({ ...x, dtype: null })), message: /has dtype null/ },
    { name: 'shape transposed (matrix)', bytes: editEntry(matrix[pick(matrix.length)]!, (x) => ({ ...x, shape: [...x.shape].reverse() })), message: /shape \[\d+,\d+\]/ },
    { name: 'shape permuted (conv)', bytes: editEntry(conv[pick(conv.length)]!, (x) => ({ ...x, shape: [x.shape[1], x.shape[0], ...x.shape.slice(2)] })), message: /shape \[\d+,\d+,\d+,\d+\]/ },
    { name: 'shape too small', bytes: editEntry(first, (x) => ({ ...x, shape: [1] })), message: /spans \d+ bytes but shape \[1\] of F32 needs 4/ },
    { name: 'shape not an array', bytes: editEntry(first, (x) => ({ ...x, shape: '3x3' })), message: /invalid shape "3x3"/ },
    { name: 'shape negative', bytes: editEntry(first, (x) => ({ ...x, shape: [-1, ...x.shape] })), message: /invalid shape/ },
    { name: 'tensor removed', bytes: reencode((t) => t.delete(someTensor)), message: new RegExp(`missing tensor ${someTensor}`), warmStartAccepts: true },
    { name: 'extra tensor', bytes: reencode((t) => t.set('extra.weight', { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) })), message: /unexpected tensor extra\.weight/ },
    { name: 'tensor renamed', bytes: reencode((t) => { const v = t.get(someTensor)!; t.delete(someTensor); t.set(`${someTensor}_x`, v); }), message: new RegExp(`unexpected tensor ${someTensor}_x`) },
    { name: 'null entry', bytes: editEntry(someTensor, () => null), message: new RegExp(`tensor ${someTensor}: header entry is null, expected \\{dtype, shape, data_offsets\\}`) },
    { name: 'array entry', bytes: editEntry(someTensor, () => [1, 2]), message: /header entry is an array/ },
    { name: 'number entry', bytes: editEntry(someTensor, () => 5), message: /header entry is 5/ },
    { name: 'null metadata', bytes: editEntry('__metadata__', () => null), message: /__metadata__ is null, expected an object of strings/ },
    { name: 'metadata an array', bytes: editEntry('__metadata__', () => ['a']), message: /__metadata__ is an array/ },
    { name: 'metadata missing', bytes: editEntry('__metadata__', () => undefined), message: /not an LRDif checkpoint/ },
    { name: 'metadata number', bytes: editEntry('__metadata__', (m) => ({ ...m, stage: 1 })), message: /metadata "stage" is 1, expected a string/ },
    { name: 'metadata object', bytes: editEntry('__metadata__', (m) => ({ ...m, config: cfg })), message: /metadata "config" is an object, expected a string/ },
    { name: 'metadata null value', bytes: editEntry('__metadata__', (m) => ({ ...m, format: null })), message: /metadata "format" is null, expected a string/ },
    { name: 'config not JSON', bytes: reencode((_, m) => (m.config = '{"preset": tiny')), message: /metadata config is not valid JSON/ },
    { name: 'config null', bytes: reencode((_, m) => (m.config = 'null')), message: /metadata config is null, expected a JSON object/ },
    { name: 'config unknown field', bytes: reencode((_, m) => (m.config = JSON.stringify({ ...cfg, learningRate: 1 }))), message: /not a valid model config: config: unknown field "learningRate"/ },
    { name: 'config bad value', bytes: reencode((_, m) => (m.config = JSON.stringify({ ...cfg, inputSize: 65 }))), message: /not a valid model config: .*inputSize 65/ },
    { name: 'config null section', bytes: reencode((_, m) => (m.config = JSON.stringify({ ...cfg, dt: null }))), message: /not a valid model config/ },
    { name: 'config unknown preset', bytes: reencode((_, m) => (m.config = JSON.stringify({ ...cfg, preset: 'huge' }))), message: /unknown preset "huge"/ },
    { name: 'preset disagrees', bytes: reencode((_, m) => (m.preset = 'paper')), message: /metadata preset "paper" differs from the config's "tiny"/ },
    { name: 'input size disagrees', bytes: reencode((_, m) => (m.input_size = '112')), message: /metadata input_size "112" differs/ },
    { name: 'stage 3', bytes: reencode((_, m) => (m.stage = '3')), message: /metadata stage is "3", expected "1" or "2"/ },
    { name: 'stage missing', bytes: reencode((_, m) => delete m.stage), message: /metadata stage is null/ },
    { name: 'format missing', bytes: reencode((_, m) => delete m.format), message: /not an LRDif checkpoint/ },
    { name: 'format version 2', bytes: reencode((_, m) => (m.format_version = '2')), message: /format_version "2", this program reads version 1/ },
    { name: 'one NaN weight', bytes: poison(NaN), message: new RegExp(`tensor ${someTensor} \\[[\\d,]+\\] holds 1 non-finite value \\(the first, NaN, at index \\d+\\)`) },
    { name: 'one +Inf weight', bytes: poison(Infinity), message: /holds 1 non-finite value \(the first, Infinity/ },
    { name: 'one -Inf weight', bytes: poison(-Infinity), message: /the first, -Infinity/ },
    { name: 'all weights NaN', bytes: poison(NaN, true), message: new RegExp(`tensor ${first} \\[[\\d,]+\\] holds \\d+ non-finite values`) },
  ];
}

/** Runs `f`, which must throw an Error whose message contains `path` and matches `message`. */
function expectRefused(f: () => unknown, path: string, message: RegExp, what: string): string {
  let err: unknown = null;
  try {
    f();
  } catch (x) {
    err = x;
  }
  expect(err, `${what}: expected an error`).toBeInstanceOf(Error);
  const msg = (err as Error).message;
  expect(msg, what).toContain(path);
  expect(msg, what).toMatch(message);
  return msg;
}

/** How a refused header flip was caught, for the log. */
const FLIP_OUTCOMES: [RegExp, string][] = [
  [/header length/, 'header length'],
  [/header is not valid|header is/, 'header not UTF-8/JSON/an object'],
  [/does not match the model/, 'tensor name not in the model'],
  [/data_offsets|starts at byte|tensors cover/, 'data_offsets'],
  [/dtype/, 'dtype'],
  [/shape|spans/, 'shape'],
  [/metadata|config|not an LRDif/, 'metadata'],
];

/** Every parameter of the warm-start target, read back (to check that a refused --from wrote nothing). */
async function snapshot(m: LrdifModel): Promise<Float32Array[]> {
  return Promise.all(m.parameters().map(async (t) => (await t.read()) as Float32Array));
}

describe('checkpoint loading refuses every mutant, naming the file', () => {
  it('the unmutated checkpoint loads on both paths (the control)', () => {
    const m = loadModel(e, good, goodPath);
    expect(m.cfg.dt.dims).toEqual([8, 16, 32, 64]);
    m.dispose();
    const r = initFromFile(warmTarget, good, goodPath);
    expect(r.loaded.length).toBe(tensors.size);
    expect(r.fresh.length).toBeGreaterThan(0);
  });

  it('structural, dtype, shape, metadata and non-finite mutants', async () => {
    const list = cases();
    expect(list.length).toBeGreaterThan(50);
    const before = await snapshot(warmTarget);
    const messages: string[] = [];
    for (const c of list) {
      const path = join(dir, `${c.name.replace(/[^a-z0-9]+/gi, '-')}.safetensors`);
      messages.push(`${c.name}: ${expectRefused(() => loadModel(e, c.bytes, path), path, c.message, `loadModel, ${c.name}`).split('\n').slice(0, 2).join(' | ')}`);
      if (!c.warmStartAccepts) expectRefused(() => initFromFile(warmTarget, c.bytes, path), path, c.message, `initFromFile, ${c.name}`);
    }
    console.log(messages.join('\n'));
    // No refused warm start wrote a weight (the last accepted one, "tensor removed", wrote the same values).
    const after = await snapshot(warmTarget);
    after.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(before[i]!.buffer)), `parameter ${i}`).toBe(true));
  });

  it('truncation at many points', () => {
    const hlen = good.length - dataSection.length - 8;
    const points = new Set([0, 1, 7, 8, 9, 8 + hlen - 1, 8 + hlen, 8 + hlen + 1, 8 + hlen + 4, good.length - 4, good.length - 1]);
    for (let i = 0; i < 60; i++) points.add(pick(good.length));
    for (let i = 0; i < 20; i++) points.add(8 + pick(hlen));
    const path = join(dir, 'truncated.safetensors');
    for (const n of [...points].sort((a, b) => a - b)) {
      expectRefused(() => loadModel(e, good.subarray(0, n), path), path, /truncated|runs past the end|lie outside|trailing bytes|not valid JSON/, `truncated at ${n} of ${good.length}`);
    }
  });

  it('random byte flips in the header: refused, or (whitespace, metadata text) the same tensors', () => {
    const hlen = good.length - dataSection.length - 8;
    const path = join(dir, 'flipped.safetensors');
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 150; i++) {
      const at = pick(8 + hlen);
      const bytes = good.slice();
      bytes[at] ^= 1 + pick(255);
      let msg: string | null = null;
      let model: LrdifModel | null = null;
      try {
        model = loadModel(e, bytes, path);
      } catch (err) {
        msg = (err as Error).message;
      }
      if (msg !== null) {
        expect(msg, `flip at byte ${at}`).toContain(path);
        const kind = FLIP_OUTCOMES.find(([re]) => re.test(msg!))?.[1] ?? `other (${msg})`;
        outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
        continue;
      }
      // Accepted: the flip hit insignificant whitespace or free text; every tensor must be exactly the original.
      model!.dispose();
      const back = readCheckpoint(bytes, path).file.tensors;
      expect([...back.keys()], `flip at byte ${at}`).toEqual([...tensors.keys()]);
      for (const [n, t] of tensors) {
        const b = back.get(n)!;
        expect(b.shape, n).toEqual(t.shape);
        expect(Buffer.from(b.data.buffer).equals(Buffer.from(t.data.buffer)), `flip at byte ${at}: ${n}`).toBe(true);
      }
      outcomes.set('accepted, tensors unchanged', (outcomes.get('accepted, tensors unchanged') ?? 0) + 1);
    }
    console.log(`header byte flips (seed ${seed}): ${[...outcomes].map(([k, n]) => `${n} ${k}`).join('; ')}`);
  });

  it('warm starts (initFromCheckpoint) refuse a same-named tensor of another dtype or shape, writing nothing', async () => {
    const before = await snapshot(warmTarget);
    const matrix = names((t) => t.shape.length === 2 && t.shape[0] !== t.shape[1])[0]!;
    const asInt = new Map<string, { dtype?: string; shape: number[]; data: Float32Array | Int32Array }>(tensors as Map<string, StTensor & { data: Float32Array }>);
    asInt.set(matrix, { shape: tensors.get(matrix)!.shape, data: new Int32Array(tensors.get(matrix)!.data.length).fill(400_000_000) });
    expect(() => initFromCheckpoint(warmTarget, asInt, 'int.safetensors')).toThrow(new RegExp(`int\\.safetensors: cannot initialise .*\\n  ${matrix}: dtype Int32Array, expected F32`));
    const transposed = new Map(tensors);
    transposed.set(matrix, { ...tensors.get(matrix)!, shape: [...tensors.get(matrix)!.shape].reverse() });
    const [r, c] = tensors.get(matrix)!.shape;
    expect(() => initFromCheckpoint(warmTarget, transposed, 't.safetensors')).toThrow(`t.safetensors: cannot initialise the stage-1 tiny model from it:\n  ${matrix}: shape [${c},${r}], expected [${r},${c}]`);
    const after = await snapshot(warmTarget);
    after.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(before[i]!.buffer)), `parameter ${i}`).toBe(true));
  });
});

/** Runs the CLI; resolves with its exit code, stderr and stdout (killed after `timeoutMs`). */
function runCli(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; signal: string | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/cli.ts', ...args], { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr, stdout }));
  });
}

/**
 * The CLI's error report: from the line that starts with `lrdif: ` to the end of stderr (notes and the
 * device's start-up lines may come before it; nothing may come after). Null when there is none.
 */
function errorReport(stderr: string): string | null {
  const at = stderr.startsWith('lrdif: ') ? 0 : stderr.indexOf('\nlrdif: ') + 1;
  return at === 0 && !stderr.startsWith('lrdif: ') ? null : stderr.slice(at).trimEnd();
}

describe('the CLI refuses bad checkpoints', () => {
  it('predict, eval and train --from exit non-zero with "lrdif: <file>: …" and do not hang', async () => {
    const image = join(dir, 'face.png');
    writeFileSync(image, encodePngChw(Float32Array.from({ length: 3 * 64 * 64 }, () => random()), 64, 64));
    const all = new Map(cases().map((c) => [c.name, c]));
    // One per load path: predict and eval (loadModel), train --from (initFromFile).
    const picked: [string, 'eval' | 'predict' | 'train'][] = [
      ['header length huge', 'predict'],
      ['null entry', 'predict'],
      ['all weights NaN', 'eval'],
      ['a real I32 tensor', 'train'],
    ];
    const jobs = picked.map(([name, cmd]) => {
      const path = join(dir, `cli-${name.replace(/[^a-z0-9]+/gi, '-')}.safetensors`);
      writeFileSync(path, all.get(name)!.bytes);
      const args = {
        predict: ['predict', '--checkpoint', path, image],
        eval: ['eval', '--checkpoint', path, '--data', 'synth:2:2', '--batch', '2'],
        train: ['train', '--stage', '1', '--from', path, '--data', 'synth:4:2', '--batch', '2', '--backbone', 'none', '--landmarks', 'oracle', '--epochs', '1', '--out', join(dir, 'run')],
      }[cmd];
      return { name, path, args };
    });
    // Two at a time: the machine has few cores, and each run starts a WebGPU engine and tunes its kernels.
    const results: Awaited<ReturnType<typeof runCli>>[] = [];
    for (let i = 0; i < jobs.length; i += 2) results.push(...(await Promise.all(jobs.slice(i, i + 2).map((j) => runCli(j.args)))));
    jobs.forEach((j, i) => {
      const r = results[i]!;
      expect(r.signal, `${j.name}: killed (hung?)`).toBeNull();
      expect(r.code, `${j.name}: ${r.stderr}`).not.toBe(0);
      const report = errorReport(r.stderr);
      expect(report?.startsWith(`lrdif: ${j.path}: `), `${j.name}: stderr is\n${r.stderr}`).toBe(true);
      expect(report, j.name).toMatch(all.get(j.name)!.message);
      expect(r.stdout, j.name).toBe('');
    });
  }, 120_000);
});
