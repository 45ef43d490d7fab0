/**
 * The demo page: form ↔ settings, buttons ↔ DemoSession, and the live views (curves, confusion
 * matrix, sample grid, diffusion strip, probability bars, pool statistics). Drawing is throttled
 * to animation frames; all GPU work goes through the session's queue.
 */
import { DemoSession, DEFAULT_SETTINGS, SOFTWARE_SETTINGS, phaseName, settingsParams, type DemoBackbone, type DemoSettings, type DemoState, type EpochInfo, type EprChain, type Snapshot, type StepInfo } from './session.ts';
import { drawChw, drawHeatStrip, pictureToChw } from './images.ts';
import { confusionSvg, lineChartSvg, type Series } from '../src/train/report.ts';
import { CLASS_NAMES } from '../src/train/data/dataset.ts';
import { UDC_PANELS, type UdcPanel } from '../src/train/data/psf.ts';
import { PRESET_NAMES } from '../src/model/config.ts';
import type { Metrics } from '../src/train/metrics.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('settings');
const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;

/** What the page has shown, kept for redraws (and read by the end-to-end test). */
const history = {
  steps: [] as StepInfo[],
  epochs: [] as EpochInfo[],
  lastMetrics: null as Metrics | null,
  snapshot: null as Snapshot | null,
  errors: [] as string[],
};

const session = new DemoSession({
  state: onState,
  status: (t) => ($('status').textContent = t),
  step: (s) => {
    history.steps.push(s);
    $('n-stage').textContent = phaseName(s.stage);
    $('n-epoch').textContent = `${s.epoch + 1}/${s.epochs}`;
    $('n-step').textContent = String(s.step);
    $('n-loss').textContent = s.loss.toFixed(4);
    $('n-sps').textContent = s.stepsPerSecond.toFixed(2);
    $('n-ips').textContent = s.imagesPerSecond.toFixed(1);
    $('progress-bar').style.width = `${(100 * (s.epoch * s.stepsPerEpoch + s.stepInEpoch)) / (s.epochs * s.stepsPerEpoch)}%`;
    $('status').textContent = `${phaseName(s.stage)}, epoch ${s.epoch + 1}/${s.epochs}, step ${s.stepInEpoch}/${s.stepsPerEpoch}${eta(s)}`;
    scheduleDraw();
  },
  epoch: (e) => {
    history.epochs.push(e);
    history.lastMetrics = e.heldOut;
    $('n-acc').textContent = `${(100 * e.heldOut.accuracy).toFixed(1)} % (${phaseName(e.stage)})`;
    $('confusion').innerHTML = confusionSvg(e.heldOut, CLASS_NAMES.slice(0, e.heldOut.confusion.length), `${phaseName(e.stage)}, epoch ${e.epoch + 1}`);
    scheduleDraw();
  },
  snapshot: (s) => {
    history.snapshot = s;
    drawSnapshot(s);
  },
});

/** Time left in the current stage at the measured rate (steps only: evaluations add a little). */
function eta(s: StepInfo): string {
  const left = s.epochs * s.stepsPerEpoch - (s.epoch * s.stepsPerEpoch + s.stepInEpoch);
  if (!(s.stepsPerSecond > 0) || left <= 0) return '';
  const sec = Math.round(left / s.stepsPerSecond);
  return `, about ${sec >= 60 ? `${Math.floor(sec / 60)} min ${sec % 60} s` : `${sec} s`} left in this stage`;
}

function onState(s: DemoState, detail?: string): void {
  document.body.dataset.state = s;
  $('status').classList.toggle('error', s === 'error');
  const busy = s === 'training' || s === 'preparing' || s === 'stopping';
  $<HTMLButtonElement>('start').disabled = busy;
  $<HTMLButtonElement>('start').textContent = s === 'paused' || s === 'pausing' ? 'Resume' : s === 'done' ? 'Train more' : 'Start';
  $<HTMLButtonElement>('pause').disabled = s !== 'training';
  for (const el of Array.from(form.elements)) (el as HTMLInputElement).disabled = s !== 'idle';
  if (s === 'error') {
    history.errors.push(detail ?? 'error');
    $('status').textContent = `error: ${detail}`;
  } else if (s === 'done') $('status').textContent = `done: ${detail}`;
  else if (s === 'idle') $('status').textContent = 'idle';
  else if (s === 'paused') $('status').textContent = 'paused';
  else if (s === 'pausing') $('status').textContent = 'pausing after the current step …';
}

// ------------------------------------------------------------------ settings

function readSettings(): DemoSettings {
  const num = (n: string) => Number(field(n).value);
  let overrides = {};
  const text = field('overrides').value.trim();
  if (text) {
    try {
      overrides = JSON.parse(text);
    } catch {
      throw new Error(`config overrides: not valid JSON: ${text}`);
    }
  }
  const s: DemoSettings = {
    preset: field('preset').value, backbone: field('backbone').value as DemoBackbone, inputSize: num('inputSize'), overrides, batchSize: num('batchSize'), lr: num('lr'), diffusionSteps: num('diffusionSteps'),
    udcPanel: field('udcPanel').value as UdcPanel, udcStrength: num('udcStrength'), epochs0: num('epochs0'), epochs1: num('epochs1'), epochs2: num('epochs2'),
    trainImages: num('trainImages'), testImages: num('testImages'), difficulty: num('difficulty'), seed: num('seed'), logEvery: num('logEvery'),
  };
  session.configFor(s); // validates (throws a readable message)
  if (s.trainImages < s.batchSize) throw new Error(`train images (${s.trainImages}) must be at least the batch size (${s.batchSize})`);
  return s;
}

function fillForm(values: Iterable<[string, string]>): void {
  for (const [k, v] of values) {
    const el = field(k);
    if (!el) continue;
    if (el instanceof HTMLSelectElement && !Array.from(el.options).some((o) => (o.value || o.text) === v)) el.add(new Option(v, v));
    el.value = v;
  }
  (form.elements.namedItem('udcStrengthOut') as HTMLOutputElement).value = field('udcStrength').value;
}

/**
 * The form's initial values: URL parameters (?batchSize=8&inputSize=32…: shareable settings, and
 * the test's run) over the defaults for this adapter — a software adapter gets the micro setting,
 * since the GPU one would take hours there.
 */
function initialSettings(software: boolean): void {
  fillForm(Object.entries(settingsParams(software ? SOFTWARE_SETTINGS : DEFAULT_SETTINGS)));
  const params = new URLSearchParams(location.search);
  fillForm(params);
  if (software && [...params].length === 0) {
    $('settings-note').textContent = 'This adapter computes in software (no GPU): the settings are a micro run (32×32, narrow model, 56 faces) that trains in minutes; the full settings would take hours.';
  }
}

field('udcStrength').addEventListener('input', () => {
  (form.elements.namedItem('udcStrengthOut') as HTMLOutputElement).value = field('udcStrength').value;
});

// ------------------------------------------------------------------ drawing

let drawPending = false;
function scheduleDraw(): void {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    drawCurves();
  });
}

const COLORS = { s0: '#7f7f7f', s1: '#1f77b4', s2: '#2ca02c', held0: '#bcbd22', held1: '#d62728', held2: '#9467bd' };

function drawCurves(): void {
  const byStage = (stage: number) => history.steps.filter((s) => s.stage === stage);
  const epochsOf = (stage: number) => history.epochs.filter((e) => e.stage === stage);
  const loss: Series[] = [];
  const acc: Series[] = [];
  for (const p of [0, 1, 2] as const) {
    if (byStage(p).length === 0 && epochsOf(p).length === 0) continue;
    const name = phaseName(p);
    const [train, held] = [COLORS[`s${p}`], COLORS[`held${p}`]];
    loss.push({ name: `train, ${name}${p === 2 ? ' (CE + KL)' : ''}`, color: train, points: byStage(p).map((s) => [s.step, s.loss]) }, { name: `held-out, ${name}${p === 2 ? ' (CE)' : ''}`, color: held, points: epochsOf(p).map((e) => [e.step, e.heldOutLoss]) });
    acc.push({ name: `train, ${name}`, color: train, points: byStage(p).map((s) => [s.step, s.accuracy]) }, { name: `held-out, ${name}`, color: held, points: epochsOf(p).map((e) => [e.step, e.heldOut.accuracy]) });
  }
  $('loss-chart').innerHTML = lineChartSvg('loss', 'step', loss);
  $('acc-chart').innerHTML = lineChartSvg('accuracy', 'step', acc, { yMin: 0, yMax: 1 });
}

function drawSnapshot(s: Snapshot): void {
  const grid = $('samples');
  grid.replaceChildren();
  const scale = Math.max(1, Math.floor(64 / s.size));
  for (const it of s.grid) {
    const cell = document.createElement('div');
    cell.className = 'cell';
    const c = document.createElement('canvas');
    c.width = 2 * s.size * scale + 2;
    c.height = s.size * scale;
    const ctx = c.getContext('2d')!;
    drawChw(ctx, it.clean, s.size, 0, 0, scale);
    drawChw(ctx, it.udc, s.size, s.size * scale + 2, 0, scale);
    const cap = document.createElement('div');
    cap.className = it.predicted === it.label ? 'ok' : 'bad';
    cap.textContent = `pred ${CLASS_NAMES[it.predicted]}`;
    const truth = document.createElement('div');
    truth.textContent = `true ${CLASS_NAMES[it.label]}`;
    cell.append(c, cap, truth);
    grid.append(cell);
  }
  drawChain(s.chain, $<HTMLCanvasElement>('strip'), $('strip-note'), $('chain-probs'));
}

function drawChain(chain: EprChain, canvas: HTMLCanvasElement, note: HTMLElement, bars: HTMLElement): void {
  drawHeatStrip(canvas, chain.rows, chain.rowLabels);
  note.textContent = chain.note;
  drawBars(bars, chain.probabilities);
}

function drawBars(el: HTMLElement, probs: number[]): void {
  el.replaceChildren();
  const top = probs.indexOf(Math.max(...probs));
  probs.forEach((p, k) => {
    const name = document.createElement('span');
    name.textContent = CLASS_NAMES[k] ?? String(k);
    const track = document.createElement('div');
    const bar = document.createElement('div');
    bar.className = k === top ? 'bar top' : 'bar';
    bar.style.width = `${(100 * p).toFixed(1)}%`;
    track.append(bar);
    const val = document.createElement('span');
    val.textContent = `${(100 * p).toFixed(1)}%`;
    el.append(name, track, val);
  });
}

function showPool(): void {
  const p = session.poolStats();
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
  $('pool').textContent = p
    ? [`live buffers   ${p.liveBuffers} (${mb(p.liveBytes)})`, `free in pool   ${p.freeBuffers} (${mb(p.freeBytes)})`, `peak live      ${mb(p.peakLiveBytes)}`, `created        ${p.created}`, `dispatches     ${p.dispatches}`, `submits        ${p.submits}`, `pipelines      ${p.pipelines}`, `model params   ${session.model?.numParameters().toLocaleString() ?? '–'}`].join('\n')
    : 'no engine yet';
}

// ------------------------------------------------------------------ actions

/** Shows an error where the action was taken: the training status line, or the inference note. */
function report(err: unknown, where: 'status' | 'infer-note' = 'status'): void {
  const msg = (err as Error)?.message ?? String(err);
  history.errors.push(msg);
  $(where).textContent = `error: ${msg}`;
  $(where).classList.add('error');
}

$('start').addEventListener('click', () => {
  try {
    session.start(session.state === 'paused' || session.state === 'pausing' ? undefined : readSettings());
  } catch (err) {
    report(err);
  }
});
$('pause').addEventListener('click', () => session.pause());
$('reset').addEventListener('click', async () => {
  await session.reset();
  history.steps.length = 0;
  history.epochs.length = 0;
  history.lastMetrics = null;
  history.snapshot = null;
  for (const id of ['loss-chart', 'acc-chart', 'samples', 'confusion', 'chain-probs', 'infer-probs']) $(id).replaceChildren();
  for (const id of ['n-stage', 'n-epoch', 'n-loss', 'n-sps', 'n-ips', 'n-acc']) $(id).textContent = '–';
  $('n-step').textContent = '0';
  $('progress-bar').style.width = '0';
  showPool();
});

$('download').addEventListener('click', async () => {
  try {
    const { bytes, name } = await session.download();
    const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    report(err);
  }
});

$<HTMLInputElement>('load').addEventListener('change', async (ev) => {
  const input = ev.target as HTMLInputElement;
  const file = input.files?.[0];
  input.value = '';
  if (!file) return;
  try {
    await session.load(new Uint8Array(await file.arrayBuffer()), file.name);
    onState(session.state === 'done' ? 'done' : 'idle', `loaded ${file.name}`);
    await session.snapshot();
  } catch (err) {
    report(err);
  }
});

async function classify(source: CanvasImageSource, width: number, height: number): Promise<void> {
  const m = session.model;
  if (!m) throw new Error('no model yet: train one or load a checkpoint');
  const S = m.cfg.inputSize;
  const chw = pictureToChw(source, width, height, S);
  const canvas = $<HTMLCanvasElement>('infer-image');
  const scale = Math.max(1, Math.floor(128 / S));
  canvas.width = S * scale;
  canvas.height = S * scale;
  drawChw(canvas.getContext('2d')!, chw, S, 0, 0, scale);
  const r = await session.infer(chw, $<HTMLInputElement>('infer-udc').checked);
  if (r.landmarks) {
    // The 68 points the model was given, over the picture.
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#0f0';
    for (let k = 0; k < 68; k++) ctx.fillRect(r.landmarks[2 * k]! * canvas.width - 1, r.landmarks[2 * k + 1]! * canvas.height - 1, 2, 2);
  }
  drawBars($('infer-probs'), r.probabilities);
  $('infer-note').classList.remove('error');
  $('infer-note').textContent = `${CLASS_NAMES[r.predicted]} — ${r.note}`;
}

$<HTMLInputElement>('upload').addEventListener('change', async (ev) => {
  const input = ev.target as HTMLInputElement;
  const file = input.files?.[0];
  input.value = '';
  if (!file) return;
  try {
    const bmp = await createImageBitmap(file);
    await classify(bmp, bmp.width, bmp.height);
    bmp.close();
  } catch (err) {
    report(err, 'infer-note');
  }
});

$('webcam').addEventListener('click', async () => {
  const video = $<HTMLVideoElement>('video');
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
    video.srcObject = stream;
    await video.play();
    await new Promise((r) => requestAnimationFrame(r));
    await classify(video, video.videoWidth, video.videoHeight);
    for (const t of stream.getTracks()) t.stop();
    video.srcObject = null;
  } catch (err) {
    report(err, 'infer-note');
  }
});

// ------------------------------------------------------------------ start-up

async function checkWebGpu(): Promise<boolean> {
  const fail = (why: string) => {
    $('no-webgpu').hidden = false;
    $('no-webgpu-reason').textContent = why;
    $('app').hidden = true;
    $('adapter').textContent = 'WebGPU unavailable';
    document.body.dataset.state = 'no-webgpu';
    return false;
  };
  if (!('gpu' in navigator) || !navigator.gpu) return fail('navigator.gpu is missing: this browser has WebGPU turned off or does not support it.');
  let software: boolean;
  try {
    software = !!(await session.getEngine()).info.software;
  } catch (err) {
    return fail(`Could not start WebGPU: ${(err as Error).message}`);
  }
  $('adapter').textContent = `WebGPU adapter: ${session.adapter}${software ? ' (software)' : ''}`;
  initialSettings(software);
  return true;
}

function fillChoices(): void {
  const preset = field('preset') as HTMLSelectElement;
  preset.replaceChildren(...PRESET_NAMES.map((n) => new Option(n, n, n === DEFAULT_SETTINGS.preset, n === DEFAULT_SETTINGS.preset)));
  const panel = field('udcPanel') as HTMLSelectElement;
  panel.replaceChildren(...UDC_PANELS.map((p) => new Option(p === 'toled' ? 'T-OLED' : 'P-OLED', p)));
}

fillChoices();
onState('idle');
(window as unknown as { lrdifDemo: unknown }).lrdifDemo = { session, history, ready: checkWebGpu() };
setInterval(showPool, 500);
