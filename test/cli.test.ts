/**
 * The `lrdif` command line as a user meets it: bad flags fail before any work with a message naming
 * the flag, the value and what is accepted; --help shows every default; --version; a micro training
 * run writes config.json and quotes it in report.md, `train --resume` refuses flags that contradict
 * it, and `eval` of its checkpoint takes the run's own held-out split and settings.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainCommand } from '../src/cli/train.ts';
import { evalCommand } from '../src/cli/eval.ts';
import { applyHeldOut, restoreOptions, type RunRecord } from '../src/cli/run-record.ts';
import { classStats, confusionTable, metricsTable } from '../src/cli/eval-output.ts';
import { computeMetrics } from '../src/train/metrics.ts';
import { CLASS_NAMES } from '../src/train/data/dataset.ts';
import { freshSeed, rng } from './helpers.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `bun src/cli.ts ARGS` in the repository root, with a kernel-tuning file of this test file's own (shared by its commands). */
function lrdif(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'src/cli.ts'), ...args], { cwd: ROOT, env: { ...process.env, LRDIF_TUNING_CACHE: join(tmp, 'tunings.json'), ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'lrdif-cli-'));
  writeFileSync(join(tmp, 'truncated.json'), '{"diffusion": {');
  writeFileSync(join(tmp, 'unknown-field.json'), '{"nope": 1}');
  writeFileSync(join(tmp, 'array.json'), '[1, 2]');
  mkdirSync(join(tmp, 'faces'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.concurrent('bad input fails before any work, naming the flag, the value and what is accepted', () => {
  const T = () => tmp;
  const invalid = (flag: string, value: string, expected: string) => `error: option '${flag}' argument '${value}' is invalid. Expected ${expected}.`;
  // [arguments, message fragment]; `OUT` is replaced by a fresh directory that must not be created.
  const table: [string[], string | (() => string)][] = [
    [['train', '--stage', '1', '--epochs', 'abc'], invalid('--epochs <n>', 'abc', 'an integer ≥ 1')],
    [['train', '--stage', '1', '--epochs', '1.5'], invalid('--epochs <n>', '1.5', 'an integer ≥ 1')],
    [['train', '--stage', '1', '--batch', 'abc'], invalid('--batch <n>', 'abc', 'an integer ≥ 1')],
    [['train', '--stage', '1', '--batch', '0'], invalid('--batch <n>', '0', 'an integer ≥ 1')],
    [['train', '--stage', '1', '--batch', '-1'], invalid('--batch <n>', '-1', 'an integer ≥ 1')],
    [['train', '--stage', '1', '--batch', '1000'], '--batch 1000 is larger than the 490 training images of --data synth:490:210: an epoch would have 0 steps'],
    [['train', '--stage', '1', '--train', '4', '--batch', '8'], '--batch 8 is larger than the 4 training images'],
    [['train', '--stage', '1', '--lr', 'abc'], invalid('--lr <x>', 'abc', 'a number in (0, 1]')],
    [['train', '--stage', '1', '--lr', '0'], invalid('--lr <x>', '0', 'a number in (0, 1]')],
    [['train', '--stage', '1', '--lr', '1e9'], invalid('--lr <x>', '1e9', 'a number in (0, 1]')],
    [['train', '--stage', '1', '--seed', 'abc'], invalid('--seed <n>', 'abc', 'an integer in [0, 4294967295]')],
    [['train', '--stage', '1', '--seed', '-1'], invalid('--seed <n>', '-1', 'an integer in [0, 4294967295]')],
    [['train', '--stage', '1', '--difficulty', 'abc'], invalid('--difficulty <d>', 'abc', 'a number in [0, 1]')],
    [['train', '--stage', '1', '--difficulty', '1.5'], invalid('--difficulty <d>', '1.5', 'a number in [0, 1]')],
    [['train', '--stage', '1', '--udc-strength', '2'], invalid('--udc-strength <s>', '2', 'a number in [0, 1]')],
    [['train', '--stage', '1', '--udc-draws', '0'], invalid('--udc-draws <k>', '0', 'an integer ≥ 1')],
    [['train', '--stage', '1', '--weight-decay', '-1'], invalid('--weight-decay <x>', '-1', 'a number ≥ 0')],
    [['train', '--stage', '1', '--clip', '0'], invalid('--clip <norm>', '0', 'a number > 0')],
    [['train', '--stage', '1', '--warmup', '0.5'], invalid('--warmup <epochs>', '0.5', 'an integer ≥ 0')],
    [['train', '--stage', '1', '--train', '0'], invalid('--train <n>', '0', 'an integer ≥ 1')],
    [['train', '--stage', '1', '--config', 'missing.json'], "option '--config <file>' argument 'missing.json' is invalid. Cannot read missing.json: no such file."],
    [['train', '--stage', '1', '--config', 'TMP/truncated.json'], () => `${T()}/truncated.json is not valid JSON (`],
    [['train', '--stage', '1', '--config', 'TMP/array.json'], () => `${T()}/array.json must hold a JSON object of model-config fields`],
    [['train', '--stage', '1', '--config', 'TMP/unknown-field.json'], () => `--config ${T()}/unknown-field.json: config: unknown field "nope"`],
    [['train', '--stage', '1', '--data', 'bogus'], "argument 'bogus' is invalid. Expected synth (sized by --train/--test), synth:TRAIN:TEST, rafdb:DIR, ferplus:DIR, kdef:DIR or folder:DIR."],
    [['train', '--stage', '1', '--data', 'synth:0:5'], "argument 'synth:0:5' is invalid. Expected synth:TRAIN:TEST with counts ≥ 1"],
    [['train', '--stage', '1', '--data', 'rafdb:/no/such/dir'], '/no/such/dir is not a directory.'],
    [['train', '--stage', '1', '--data', 'synth:100:50', '--train', '200'], '--data synth:100:50 and --train 200 give different sizes'],
    [['train', '--stage', '1', '--data', 'folder:TMP/faces', '--difficulty', '0.5'], () => `--difficulty applies to SynthFER; --data folder:${T()}/faces uses the dataset's own images and split`],
    [['train', '--stage', '2'], 'stage 2 needs --from <stage-1 checkpoint>'],
    [['train', '--stage', '1', '--from', 'no-such.safetensors'], '--from no-such.safetensors: no such file'],
    [['train', '--stage', '2', '--baseline', '--from', 'x'], '--baseline trains the no-EPR baseline, a stage-1 model: use --stage 1'],
    [['train', '--stage', '3'], "option '--stage <n>' argument '3' is invalid. Allowed choices are 1, 2."],
    [['eval', '--checkpoint', 'no-such.safetensors'], '--checkpoint no-such.safetensors: no such file'],
    [['eval', '--checkpoint', 'x', '--batch', '0'], invalid('--batch <n>', '0', 'an integer ≥ 1')],
    [['eval', '--checkpoint', 'x', '--data-seed', '1.5'], invalid('--data-seed <n>', '1.5', 'an integer in [0, 4294967295]')],
    [['run', '--epochs', '1,x'], invalid('--epochs <list>', '1,x', 'comma-separated values each an integer ≥ 1, e.g. 4,1,2')],
    [['run', '--epochs', '3'], '--epochs 3: expected 3 positive integers (baseline warm start, stage 1, stage 2, e.g. 3,1,5)'],
    [['run', '--no-warm-start', '--epochs', '3,1,2'], '--epochs 3,1,2: expected 2 positive integers (stage 1, stage 2, e.g. 2,6)'],
    [['run', '--batch', '600'], '--batch 600 is larger than the 490 training images of --train 490'],
    [['ablate', '--seeds', '1,1'], invalid('--seeds <list>', '1,1', 'comma-separated values, all different, each an integer in [0, 4294967295], e.g. 0,1,2,3,4')],
    [['ablate', '--steps', '0,2'], invalid('--steps <list>', '0,2', 'comma-separated values each an integer ≥ 1, e.g. 2,4,8')],
    [['synth', '--out', 'OUT', '--count', '0'], invalid('--count <n>', '0', 'an integer ≥ 1')],
    [['synth', '--out', 'OUT', '--label-noise', '2'], invalid('--label-noise <p>', '2', 'a number in [0, 1]')],
    [['udc', 'in', 'OUT', '--strength', '1.5'], invalid('--strength <s>', '1.5', 'a number in [0, 1]')],
    [['predict', '--checkpoint', 'x', '--draws', '0', 'face.png'], invalid('--draws <k>', '0', 'an integer ≥ 1')],
    [['--adapter', 'vulkan', 'train', '--stage', '1'], "option '--adapter <name>' argument 'vulkan' is invalid. Allowed choices are auto, hardware, llvmpipe, swiftshader."],
  ];
  it.each(table)('lrdif %j', async (args, fragment) => {
    const out = join(tmp, `out-${Math.random().toString(36).slice(2)}`);
    const typed = args.map((a) => a.replace('TMP', tmp).replace('OUT', out));
    // train writes to --out: give it one, so that "before any work" is checked by the directory never appearing.
    const withOut = typed[0] === 'train' ? [...typed, '--out', out] : typed;
    const r = await lrdif(withOut);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(typeof fragment === 'function' ? fragment() : fragment);
    expect(r.stderr).not.toContain('WebGPU adapter'); // no engine was started
    expect(existsSync(out)).toBe(false);
  });

  it('a bad LRDIF_ADAPTER is refused as the --adapter value from the environment', async () => {
    const r = await lrdif(['train', '--stage', '1'], { LRDIF_ADAPTER: 'vulkan' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("option '--adapter <name>' value 'vulkan' from env 'LRDIF_ADAPTER' is invalid. Allowed choices are auto, hardware, llvmpipe, swiftshader.");
  });
});

/** Commander's help as (option term, description) entries, continuation lines joined. */
function helpEntries(help: string): { term: string; description: string }[] {
  const entries: { term: string; description: string }[] = [];
  for (const line of help.split('\n')) {
    const m = /^ {2}((?:-\w, )?--[\w-]+(?: <[^>]+>)?) +(.*)$/.exec(line);
    if (m) entries.push({ term: m[1]!, description: m[2]! });
    else if (/^ {10,}\S/.test(line) && entries.length > 0) entries[entries.length - 1]!.description += ` ${line.trim()}`;
    else if (!/^ {2}/.test(line)) entries.push({ term: '', description: '' }); // a section break ends an entry
  }
  return entries.filter((e) => e.term);
}

describe.concurrent('--help and --version', () => {
  // Options a command cannot do without have no default.
  const required: Record<string, string[]> = { train: ['--stage <n>'], eval: ['--checkpoint <file>'], predict: ['--checkpoint <file>'], synth: ['--out <dir>'] };
  it.each(['train', 'eval', 'run', 'ablate', 'synth', 'udc', 'predict'])('every option of %s that takes a value shows its default', async (command) => {
    const r = await lrdif([command, '--help']);
    expect(r.status).toBe(0);
    const valued = helpEntries(r.stdout).filter((e) => e.term.includes('<') && !(required[command] ?? []).includes(e.term));
    expect(valued.length).toBeGreaterThan(2);
    for (const e of valued) expect(`${e.term}: ${e.description}`).toMatch(/\(default: [^)]+\)|default: /);
    // The global --adapter, with its environment variable, is listed under every command.
    expect(r.stdout).toMatch(/--adapter <name>[\s\S]*env: LRDIF_ADAPTER/);
  });

  it('train --help gives the CPU-sized defaults and says how to scale up', async () => {
    const r = await lrdif(['train', '--help']);
    const entries = new Map(helpEntries(r.stdout).map((e) => [e.term, e.description]));
    expect(entries.get('--train <n>')).toContain('(default: 490)');
    expect(entries.get('--test <n>')).toContain('(default: 210)');
    expect(entries.get('--difficulty <d>')).toContain('(default: 0.3)');
    expect(entries.get('--epochs <n>')).toContain('(default: 2)');
    expect(entries.get('--batch <n>')).toContain('(default: 16)');
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('scale up with e.g. --train 2800 --test 700 --epochs 100 --batch 64 --lr 3.5e-4');
  });

  it('eval and synth default to the same SynthFER difficulty as train and run', async () => {
    for (const command of ['eval', 'synth', 'run', 'ablate']) {
      const r = await lrdif([command, '--help']);
      expect(new Map(helpEntries(r.stdout).map((e) => [e.term, e.description])).get('--difficulty <d>')).toContain('(default: 0.3)');
    }
  });

  it('--version prints the package version', async () => {
    const r = await lrdif(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${VERSION}\n`);
  });
});

describe('a micro training run remembers its settings', () => {
  let dir: string;
  let trained: Result;
  const args = () => ['train', '--stage', '1', '--train', '8', '--test', '7', '--epochs', '1', '--batch', '8', '--backbone', 'none', '--landmarks', 'oracle', '--difficulty', '0.4', '--out', dir];
  beforeAll(async () => {
    dir = join(tmp, 'micro');
    trained = await lrdif(args());
  }, 300_000);

  it('writes config.json with the command line, every resolved option, the held-out settings and the model config', () => {
    expect(trained.status, trained.stderr).toBe(0);
    const r: RunRecord = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(r.command).toBe('train');
    expect(r.argv).toEqual(args());
    expect(r.options).toMatchObject({ stage: '1', preset: 'tiny', train: 8, test: 7, epochs: 1, batch: 8, lr: 0.002, difficulty: 0.4, seed: 0, backbone: 'none', landmarks: 'oracle', clip: null });
    expect(r.options).not.toHaveProperty('out');
    expect(r.heldOut).toEqual({ data: 'synth', train: 8, test: 7, difficulty: 0.4, 'data-seed': 0, udc: 'toled', 'udc-strength': 1, draws: 1, 'skip-bad': false });
    expect(r.model).toMatchObject({ preset: 'tiny', backbone: 'none', landmarkFeatures: 'heatmap', numClasses: 7 });
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(report).toContain('## Command and configuration');
    expect(report).toContain(`lrdif train --stage 1 --train 8 --test 7 --epochs 1 --batch 8 --backbone none --landmarks oracle --difficulty 0.4 --out ${dir}`);
  });

  it('--resume refuses flags that differ from the run and changes nothing', async () => {
    const before = ['config.json', 'log.jsonl', 'model.safetensors'].map((f) => readFileSync(join(dir, f)));
    const r = await lrdif(['train', '--stage', '1', '--out', dir, '--resume', '--lr', '0.01', '--epochs', '3', '--batch', '8']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`--resume continues the run as it was started (${join(dir, 'config.json')}), but these flags differ from it:`);
    expect(r.stderr).toContain('--epochs 3 (the run has --epochs 1)');
    expect(r.stderr).toContain('--lr 0.01 (the run has --lr 0.002)');
    expect(r.stderr).not.toContain('--batch 8 (the run'); // equal to the recorded value: fine
    expect(['config.json', 'log.jsonl', 'model.safetensors'].map((f) => readFileSync(join(dir, f)))).toEqual(before);
  });

  it("eval of the checkpoint uses the run's held-out split and settings and reproduces its held-out accuracy", async () => {
    const r = await lrdif(['eval', '--checkpoint', join(dir, 'model.safetensors'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`eval: held-out settings of the run that wrote the checkpoint (${join(dir, 'config.json')}): --data synth --train 8 --test 7 --difficulty 0.4 --data-seed 0 --udc toled --udc-strength 1 --draws 1`);
    expect(r.stderr).not.toContain('overrides');
    const out = JSON.parse(r.stdout);
    expect(out.data).toBe('synth:8:7');
    expect(out.images).toBe(7);
    expect(out.settings).toMatchObject({ difficulty: 0.4, 'data-seed': 0, udc: 'toled', test: 7 });
    const epochs = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'epoch');
    expect(out.accuracy).toBe(epochs[epochs.length - 1].testAccuracy);
    expect(out.confusion.classes).toEqual(CLASS_NAMES.slice(0, 7));
    expect(out.confusion.rows.flat().reduce((a: number, b: number) => a + b, 0)).toBe(7);
  }, 300_000);

  it("times its kernel shapes once: the choices go to the machine's tuning file and the run's tuning.json, and the same command in a new process times nothing and chooses the same", async () => {
    expect(trained.stderr).toMatch(new RegExp(`\\[tuning\\] timed \\d+ kernel shapes \\(matmul \\d+, conv2d \\d+\\) in [\\d.]+ s by \\S+; saved in ${join(tmp, 'tunings.json')}`));
    const run = JSON.parse(readFileSync(join(dir, 'tuning.json'), 'utf8'));
    const adapters = Object.keys(run.adapters);
    expect(adapters).toHaveLength(1);
    expect(Object.keys(run.adapters[adapters[0]!].matmul.choices).length).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(tmp, 'tunings.json'), 'utf8'))).toEqual(run);
    const again = join(tmp, 'micro-again');
    const r = await lrdif(args().map((a) => (a === dir ? again : a)));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('[tuning]');
    expect(JSON.parse(readFileSync(join(again, 'tuning.json'), 'utf8'))).toEqual(run);
  }, 300_000);
});

describe('restoring and overriding recorded settings (in process)', () => {
  const record: RunRecord = {
    version: VERSION, command: 'train', argv: [],
    options: { stage: '1', preset: 'tiny', train: 8, test: 7, epochs: 1, batch: 8, lr: 0.002, difficulty: 0.4, clip: null, baseline: null },
    heldOut: { data: 'synth', train: 8, test: 7, difficulty: 0.4, 'data-seed': 5, udc: 'poled', 'udc-strength': 0.5, draws: 2, 'skip-bad': false },
  };

  it('--resume takes every recorded option that was not typed, and accepts typed ones equal to the record', () => {
    const cmd = trainCommand();
    cmd.parseOptions(['--stage', '1', '--lr', '0.002', '--resume']);
    restoreOptions(cmd, record, 'config.json', ['out', 'resume', 'force']);
    expect(cmd.opts()).toMatchObject({ stage: '1', train: 8, test: 7, epochs: 1, batch: 8, lr: 0.002, difficulty: 0.4, resume: true });
    expect(cmd.opts().clip).toBeUndefined();
    // Options the record does not hold keep their values (a record from an older lrdif).
    expect(cmd.opts().udc).toBe('toled');
  });

  it('--resume refuses a boolean flag the run did not have', () => {
    const cmd = trainCommand();
    cmd.parseOptions(['--stage', '1', '--baseline']);
    expect(() => restoreOptions(cmd, record, 'config.json', [])).toThrow('--baseline (the run has no --baseline)');
  });

  it('eval: recorded held-out settings replace defaults; typed flags win with a note', () => {
    const cmd = evalCommand();
    cmd.parseOptions(['--checkpoint', 'x', '--difficulty', '0.7', '--test', '7']);
    const lines = applyHeldOut(cmd, record.heldOut!, 'run/config.json');
    expect(cmd.opts()).toMatchObject({ data: 'synth', train: 8, test: 7, difficulty: 0.7, dataSeed: 5, udc: 'poled', udcStrength: 0.5, draws: 2, seed: 1234 });
    expect(lines[0]).toBe('eval: held-out settings of the run that wrote the checkpoint (run/config.json): --data synth --train 8 --data-seed 5 --udc poled --udc-strength 0.5 --draws 2');
    expect(lines.slice(1)).toEqual(["eval: --difficulty 0.7 overrides the run's --difficulty 0.4: the held-out results are not the run's own"]);
  });
});

describe('eval tables', () => {
  const seed = freshSeed('eval tables');
  const r = rng(seed);
  const k = 7;
  const labels = Array.from({ length: 60 }, () => Math.floor(r() * k));
  const preds = labels.map((y) => (r() < 0.5 ? y : Math.floor(r() * k)));
  const m = computeMetrics(labels, preds, k);
  const names = CLASS_NAMES.slice(0, k);

  it('the confusion matrix has the class names on rows and columns and the counts in place', () => {
    const lines = confusionTable(m, names).split('\n');
    expect(lines[0]).toBe('confusion matrix (rows: true class, columns: predicted class)');
    expect(lines[2]!.trim().split(/\s{2,}/)).toEqual(['true \\ predicted', ...names]);
    lines.slice(3).forEach((line, i) => expect(line.trim().split(/\s+/)).toEqual([names[i], ...m.confusion[i]!.map(String)]));
  });

  it('the metrics table gives accuracy, macro-F1 and per-class recall, precision, F1 consistent with the matrix', () => {
    const text = metricsTable(m, names);
    expect(text).toContain(`accuracy ${(100 * m.accuracy).toFixed(1)} %, macro-F1 ${(100 * m.macroF1).toFixed(1)} % on 60 images`);
    const stats = classStats(m, names);
    const present = stats.filter((s) => s.images > 0);
    expect(present.reduce((a, s) => a + s.f1!, 0) / present.length).toBeCloseTo(m.macroF1, 12);
    stats.forEach((s, c) => {
      expect(s.images).toBe(labels.filter((y) => y === c).length);
      if (s.recall !== null) expect(s.recall).toBeCloseTo(m.perClassAccuracy[c]!, 12);
      const predicted = preds.filter((p) => p === c).length;
      expect(s.precision).toBe(predicted ? preds.filter((p, i) => p === c && labels[i] === c).length / predicted : null);
    });
  });
});

describe('synth --judge', () => {
  it("judges a generated split with face-api's expression net and writes the report, its JSON and the class grid", { timeout: 180_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'lrdif-judge-'));
    try {
      const r = await lrdif(['synth', '--judge', '--count', '14', '--difficulty', '0', '--out', out]);
      expect(r.status, r.stderr).toBe(0);
      const md = readFileSync(join(out, 'judge.md'), 'utf8');
      for (const name of CLASS_NAMES.slice(0, 7)) expect(md).toContain(`| ${name} |`);
      expect(md).toMatch(/\| \*\*overall\*\* \| \*\*\d+ %\*\* \| \*\*\d+ %\*\* \| \*\*\d+ %\*\* \|/);
      const json = JSON.parse(readFileSync(join(out, 'judge.json'), 'utf8'));
      expect(json.conditions.map((c: { name: string }) => c.name)).toEqual(['clean', 'toled', 'poled']);
      for (const c of json.conditions) {
        // Two faces per class: every row of the confusion matrix sums to 2.
        expect(c.confusion.map((row: number[]) => row.reduce((a, b) => a + b, 0))).toEqual(Array(7).fill(2));
      }
      const png = readFileSync(join(out, 'synthfer-classes.png'));
      expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
      // Nothing of the dataset itself is written in judge mode.
      expect(existsSync(join(out, 'train'))).toBe(false);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
