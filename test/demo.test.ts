/**
 * The in-browser training demo end to end: builds web/ with `bun build`, serves it on loopback,
 * trains stage 1 then stage 2 with a micro setting in headless Chromium (WebGPU on SwiftShader),
 * checks what the page shows, downloads the weights and compares the page's logits with the same
 * checkpoint run under Bun (llvmpipe). A second test runs Chromium without WebGPU.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildWebFiles } from '../scripts/build-web.ts';
import { CHROMIUM_PATH, chromiumArgs, serveStatic } from './browser/serve.ts';
import { getEngine } from './helpers.ts';
import { loadIntoModel, readCheckpoint } from '../src/model/checkpoint.ts';
import { LrdifModel } from '../src/model/lrdif.ts';
import { encodePngChw } from '../src/train/data/png.ts';
import { generateSample } from '../src/train/data/synthfer.ts';
import { probeLogits, settingsParams, SOFTWARE_SETTINGS } from '../web/session.ts';
import { faceApiExtractor } from '../src/train/models-fs.ts';

/** The page's own software-adapter setting (see SOFTWARE_SETTINGS), given explicitly. */
const MICRO = settingsParams(SOFTWARE_SETTINGS);

interface PageHistory {
  steps: { stage: number; step: number; loss: number; stepsPerSecond: number; imagesPerSecond: number }[];
  epochs: { stage: number; step: number; heldOut: { accuracy: number }; heldOutLoss: number }[];
  errors: string[];
}

let server: { url: string; stop: () => void };
let browser: Browser | null = null;

beforeAll(async () => {
  server = serveStatic(await buildWebFiles());
});

afterAll(async () => {
  await browser?.close();
  server?.stop();
});

function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (err) => errors.push(String(err)));
  return errors;
}

describe('browser demo', () => {
  it('trains both stages in headless Chromium, shows it, and its checkpoint gives the same logits in Bun', { timeout: 900_000 }, async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: chromiumArgs(true) });
    const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1300, height: 900 } });
    const consoleErrors = watchConsole(page);
    await page.goto(`${server.url}?${new URLSearchParams(MICRO)}`);
    expect(await page.evaluate(() => (window as unknown as { lrdifDemo: { ready: Promise<boolean> } }).lrdifDemo.ready)).toBe(true);
    const t0 = performance.now();
    await page.click('#start');
    // Pause and resume once mid-run: training must stop advancing while paused.
    // The frozen networks first run once over every training view (SwiftShader: minutes).
    await page.waitForFunction(() => Number(document.getElementById('n-step')!.textContent) >= 4, undefined, { timeout: 360_000 });
    await page.click('#pause');
    await page.waitForFunction(() => document.body.dataset.state === 'paused');
    const pausedAt = await page.textContent('#n-step');
    await page.waitForTimeout(1500);
    expect(await page.textContent('#n-step')).toBe(pausedAt);
    await page.click('#start');
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), undefined, { timeout: 600_000, polling: 500 });
    const seconds = (performance.now() - t0) / 1000;
    const h = (await page.evaluate(() => {
      const d = (window as unknown as { lrdifDemo: { history: PageHistory } }).lrdifDemo.history;
      return { steps: d.steps, epochs: d.epochs, errors: d.errors };
    })) as PageHistory;
    console.log(`demo curve: ${h.steps.map((s) => `${s.stage}:${s.loss.toFixed(3)}`).join(' ')}; held-out ${h.epochs.map((e) => `${e.stage}:${e.heldOut.accuracy.toFixed(3)}`).join(' ')}; ${seconds.toFixed(0)} s`);
    expect(h.errors).toEqual([]);
    expect(await page.getAttribute('body', 'data-state')).toBe('done');

    // Loss curve: points for every phase, and the loss of both stages falls (first vs last logged window).
    const s1 = h.steps.filter((s) => s.stage === 1);
    const s2 = h.steps.filter((s) => s.stage === 2);
    const totalSteps = h.steps[h.steps.length - 1]!.step;
    // The software setting trains stage 1 from scratch (no baseline phase): 4 + 4 epochs of 7 steps.
    expect(h.steps.some((s) => s.stage === 0)).toBe(false);
    for (const xs of [s1, s2]) expect(xs.length).toBeGreaterThan(5);
    expect(totalSteps).toBe(8 * 7);
    // Windows of 2 steps × 8 images are noisy: compare the mean of the first two with the last two.
    const ends = (xs: { loss: number }[]) => [(xs[0]!.loss + xs[1]!.loss) / 2, (xs[xs.length - 2]!.loss + xs[xs.length - 1]!.loss) / 2];
    for (const xs of [s1, s2]) {
      const [first, last] = ends(xs);
      expect(last).toBeLessThan(first);
    }
    // Train and held-out series for each of the two stages.
    expect(await page.locator('#loss-chart svg polyline').count()).toBeGreaterThanOrEqual(4);
    // Held-out accuracy of the label-free stage 2, above chance (1/7).
    const heldOut = h.epochs.filter((e) => e.stage === 2).map((e) => e.heldOut.accuracy);
    const final = heldOut[heldOut.length - 1]!;
    // Confusion matrix (7×7 cells) and the sample grid (14 faces, clean | UDC) were drawn.
    expect(await page.locator('#confusion svg rect').count()).toBeGreaterThanOrEqual(1 + 49);
    expect(await page.locator('#samples canvas').count()).toBe(14);
    expect(await page.locator('#chain-probs .bar').count()).toBe(7);
    const sps = [...s1, ...s2].map((s) => s.stepsPerSecond).sort((a, b) => a - b);
    console.log(`demo: ${totalSteps} steps in ${seconds.toFixed(1)} s incl. data and evaluation; median ${sps[sps.length >> 1]!.toFixed(2)} steps/s in headless Chromium; held-out accuracy stage 2 ${heldOut.map((a) => a.toFixed(3)).join(' → ')}; stage 1 ${h.epochs.filter((e) => e.stage === 1).map((e) => e.heldOut.accuracy.toFixed(3)).join(' → ')}`);

    // Inference on an uploaded image (a held-out-split face, PNG, through the file input).
    const face = generateSample(500, { seed: 77, size: 48, split: 'test', difficulty: 0.1 });
    await page.setInputFiles('#upload', { name: 'face.png', mimeType: 'image/png', buffer: Buffer.from(encodePngChw(face.image, 48, 48)) });
    await page.waitForFunction(() => document.querySelectorAll('#infer-probs .bar').length === 7, undefined, { timeout: 30_000 });
    // The upload's features come from face-api's frozen networks run on it, whose weights the page
    // fetched from its own server (served from node_modules by the build).
    expect(await page.textContent('#infer-note')).toMatch(/features from face-api's frozen networks on the image the model sees/);
    // The screenshot (docs/demo.png) shows the trained page and the classified upload with its landmarks.
    await mkdir('test-output', { recursive: true });
    await page.screenshot({ path: 'test-output/demo.png', fullPage: true });

    // Download the weights and compare logits: page (SwiftShader) vs Bun (llvmpipe), same inputs.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const path = await download.path();
    const bytes = new Uint8Array(await readFile(path));
    await writeFile('test-output/demo-weights.safetensors', bytes);
    type Probe = { samples: { image: number[]; landmarks: number[] | null; label: number }[]; logits: number[]; seed: number; stage: number; adapter: string };
    const probe = (await page.evaluate(() => (window as unknown as { lrdifDemo: { session: { probe(n: number, s: number): Promise<unknown> } } }).lrdifDemo.session.probe(4, 11))) as Probe;
    expect(probe.stage).toBe(2);

    // Loading the downloaded file back into the page reproduces its logits exactly (same adapter).
    await page.setInputFiles('#load', path);
    await page.waitForFunction(() => /loaded /.test(document.getElementById('status')!.textContent ?? ''));
    const again = (await page.evaluate(() => (window as unknown as { lrdifDemo: { session: { probe(n: number, s: number): Promise<unknown> } } }).lrdifDemo.session.probe(4, 11))) as Probe;
    expect(again.logits).toEqual(probe.logits);
    expect(consoleErrors).toEqual([]);
    await page.close();

    const e = await getEngine();
    const ck = readCheckpoint(bytes, 'demo-weights.safetensors');
    expect(ck.stage).toBe(2);
    expect(ck.config.backbone).toBe('face-api');
    const model = new LrdifModel(e, ck.config, 2, 0, { extractor: faceApiExtractor(e) });
    loadIntoModel(model, ck.file, 'demo-weights.safetensors');
    const samples = probe.samples.map((s) => ({ image: Float32Array.from(s.image), landmarks: s.landmarks ? Float32Array.from(s.landmarks) : null, label: s.label }));
    const inBun = await probeLogits(e, model, samples, probe.seed);
    model.dispose();
    // Two different adapters (SwiftShader in the page, llvmpipe here) round and fuse differently
    // and sum in different orders, so the logits agree to float error, not bit for bit: compare
    // the largest difference against the logits' scale.
    const scale = Math.max(1, ...inBun.map(Math.abs));
    const maxDiff = Math.max(...probe.logits.map((v, i) => Math.abs(v - inBun[i]!)));
    console.log(`logits page (${probe.adapter}) vs Bun (${e.info.description}): max |diff| ${maxDiff.toExponential(2)} at scale ${scale.toFixed(2)}`);
    expect(probe.logits.length).toBe(4 * 7);
    expect(maxDiff / scale).toBeLessThan(1e-4);
    // Checked last so a run that learns too little still exercises everything above: stage 1 (its EPR
    // carries the label) and the label-free stage 2 beat chance on the 28 held-out faces (measured:
    // stage 2 ends at 18 of 28 right on face-api's frozen features; chance is 4).
    const stage1 = h.epochs.filter((e) => e.stage === 1).map((e) => e.heldOut.accuracy);
    console.log(`held-out accuracy: stage 1 ${stage1.map((a) => a.toFixed(3)).join(' → ')}, stage 2 ${final.toFixed(3)}`);
    expect(Math.max(...stage1)).toBeGreaterThan(1 / 7);
    expect(final).toBeGreaterThan(1 / 7);
  });

  it('explains plainly when WebGPU is missing', async () => {
    await browser?.close();
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: chromiumArgs(false) });
    const page = await browser.newPage();
    await page.goto(server.url);
    expect(await page.evaluate(() => (window as unknown as { lrdifDemo: { ready: Promise<boolean> } }).lrdifDemo.ready)).toBe(false);
    expect(await page.isVisible('#no-webgpu')).toBe(true);
    expect(await page.isVisible('#app')).toBe(false);
    const text = await page.textContent('#no-webgpu');
    expect(text).toMatch(/WebGPU is not available/);
    expect(text).toMatch(/--enable-unsafe-webgpu/);
    expect(text).toMatch(/Chrome or Edge/);
    expect(await page.getAttribute('body', 'data-state')).toBe('no-webgpu');
    await page.close();
  });
});
