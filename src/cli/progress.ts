/** Progress bars on stderr (cli-progress): per-epoch training bars and one-off task bars. */
import cliProgress from 'cli-progress';
import type { StageSpec } from '../train/pipeline.ts';

/** One training stage's progress: a bar per epoch, a summary line after each, log lines, all labelled. */
export function progressHooks(label: string): Pick<StageSpec, 'onStep' | 'onEpoch' | 'onProgress' | 'log'> & { stop: () => void } {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} epoch {epoch}/{epochs} |{bar}| {value}/{total} | loss {loss} | acc {acc} | {ips} img/s | ETA {etaEpoch}`,
      hideCursor: true,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 10_000,
    },
    cliProgress.Presets.shades_classic,
  );
  // Held-out evaluation after each epoch gets a bar of its own.
  const evalBar = new cliProgress.SingleBar(
    { format: `${label} held-out evaluation |{bar}| {value}/{total} images`, hideCursor: true, noTTYOutput: !process.stderr.isTTY, notTTYSchedule: 10_000 },
    cliProgress.Presets.shades_classic,
  );
  let evaluating = false;
  let started = false;
  // The bar moves from the first queued step; loss, accuracy and speed arrive with each logged window.
  // The epoch's ETA comes from the time per step since the epoch began (cli-progress's own reads 0 s then).
  let epochStart = performance.now();
  let payload = { epoch: 1, epochs: 1, loss: '…', acc: '…', ips: '…', etaEpoch: '…' };
  const eta = (done: number, total: number) => {
    const s = ((performance.now() - epochStart) / 1000 / Math.max(1, done)) * (total - done);
    return s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
  };
  return {
    onProgress: (p) => {
      if (p.what === 'eval') {
        if (started) bar.stop();
        started = false;
        if (!evaluating) evalBar.start(p.total, p.done);
        else evalBar.update(p.done);
        evaluating = p.done < p.total;
        if (!evaluating) evalBar.stop();
        return;
      }
      if (!started || p.done <= 1) {
        if (started) bar.stop();
        if (p.done <= 1) payload = { ...payload, epoch: p.epoch + 1, epochs: p.epochs, loss: '…', acc: '…', ips: '…', etaEpoch: '…' };
        bar.start(p.total, p.done, payload);
        started = true;
      } else bar.update(p.done, { ...payload, etaEpoch: eta(p.done, p.total) });
    },
    onStep: (l, p) => {
      payload = { epoch: p.epoch + 1, epochs: p.epochs, loss: l.loss.toFixed(3), acc: (100 * l.accuracy).toFixed(1), ips: l.imagesPerSecond.toFixed(1), etaEpoch: eta(p.stepInEpoch, p.stepsPerEpoch) };
      if (!started) {
        bar.start(p.stepsPerEpoch, p.stepInEpoch, payload);
        started = true;
      } else bar.update(p.stepInEpoch, payload);
    },
    onEpoch: (l) => {
      if (started) bar.stop();
      if (evaluating) evalBar.stop();
      started = false;
      evaluating = false;
      console.error(`${label} epoch ${l.epoch + 1}: train loss ${l.trainLoss.toFixed(4)}, train acc ${(100 * l.trainAccuracy).toFixed(1)} %, held-out acc ${(100 * l.test.accuracy).toFixed(1)} %, macro-F1 ${(100 * l.test.macroF1).toFixed(1)} % (${l.seconds.toFixed(1)} s)`);
      epochStart = performance.now();
    },
    log: (line) => console.error(`${label} ${line}`),
    stop: () => {
      if (started) bar.stop();
      if (evaluating) evalBar.stop();
    },
  };
}

/** Progress bars for one-off tasks (decoding a dataset, predicting its landmarks), one per task label. */
export function taskProgress(): { onProgress: (task: string, done: number, total: number) => void; stop: () => void } {
  let bar: cliProgress.SingleBar | null = null;
  let current = '';
  const stop = () => {
    bar?.stop();
    bar = null;
  };
  return {
    onProgress: (task, done, total) => {
      if (task !== current || !bar) {
        stop();
        current = task;
        bar = new cliProgress.SingleBar(
          { format: `${task} |{bar}| {value}/{total} | {eta_formatted} left`, hideCursor: true, noTTYOutput: !process.stderr.isTTY, notTTYSchedule: 10_000 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done);
      } else bar.update(done);
      if (done >= total) stop();
    },
    stop,
  };
}
