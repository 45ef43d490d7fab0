/**
 * A small engine program bundled for the browser by test/browser.test.ts: a few ops with backward.
 * Exposes `runEngineCheck()` on window; the test runs the same function under Bun and compares.
 */
import { runEngineCheck } from './engine-program.ts';

(globalThis as { runEngineCheck?: typeof runEngineCheck }).runEngineCheck = runEngineCheck;
