/**
 * The engine in a browser: bundles test/browser/engine-check.ts with `bun build`, serves it on
 * loopback, runs it in headless Chromium (WebGPU in software) and compares with the same program
 * under Bun.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { runEngineCheck, type EngineCheckResult } from './browser/engine-program.ts';
import { relErr } from './helpers.ts';
import { buildForBrowser, CHROMIUM_PATH, chromiumArgs, serveStatic } from './browser/serve.ts';

let browser: Browser;
let server: { url: string; stop: () => void };

beforeAll(async () => {
  const js = await buildForBrowser('test/browser/engine-check.ts');
  server = serveStatic({ '/': `<!doctype html><meta charset="utf-8"><script type="module" src="/app.js"></script><body>engine check</body>`, '/app.js': js, '/favicon.ico': '' });
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: chromiumArgs(true) });
});

afterAll(async () => {
  await browser?.close();
  server?.stop();
});

describe('engine in headless Chromium', () => {
  it('runs ops with backward and matches Bun', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(server.url);
    await page.waitForFunction(() => typeof (globalThis as { runEngineCheck?: unknown }).runEngineCheck === 'function');
    const inBrowser = (await page.evaluate(() => (globalThis as unknown as { runEngineCheck: () => Promise<unknown> }).runEngineCheck())) as EngineCheckResult;
    const inBun = await runEngineCheck();
    console.log(`browser adapter: ${inBrowser.adapter}; bun adapter: ${inBun.adapter}`);
    expect(errors).toEqual([]);
    expect(inBrowser.gradA.length).toBe(6 * 37);
    for (const k of ['loss', 'gradA', 'gradB', 'rowMax'] as const) {
      expect(relErr(inBrowser[k], inBun[k]), k).toBeLessThan(1e-5);
    }
    await page.close();
  });
});
