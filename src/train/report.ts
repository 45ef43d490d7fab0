/**
 * Run reports: loss/accuracy curves and the confusion matrix as SVG, a grid of test images with
 * true/predicted labels as SVG (images embedded as PNG data URIs), and report.md with the numbers.
 * Pure string builders, so the browser demo can reuse them.
 */
import type { Metrics } from './metrics.ts';

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  /** Half-widths of error bars, one per point (e.g. 95 % intervals). */
  errors?: number[];
  /** Draw a dot at every point (sparse series, e.g. one per epoch, that a line alone would hide). */
  markers?: boolean;
}

/**
 * Round tick positions covering [lo, hi]: steps of 1, 2 or 5 × 10^k, about `count` of them, with
 * labels printed to the step's precision (0, 0.5, 1, 1.5 rather than 0.496, 0.992).
 */
export function niceTicks(lo: number, hi: number, count = 5): { ticks: number[]; label: (v: number) => string; lo: number; hi: number } {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((st) => st >= raw * (1 - 1e-9))!;
  const first = Math.floor(lo / step + 1e-9) * step;
  const last = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v <= last + step * 1e-6; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return { ticks, label: (v) => v.toFixed(decimals), lo: first, hi: last };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A line chart of several series sharing axes. */
export function lineChartSvg(title: string, xLabel: string, series: Series[], opts: { yMin?: number; yMax?: number } = {}): string {
  // The legend sits below the plot, two entries per row, so it never covers a curve.
  const W = 560, P = 320, L = 56, R = 16, T = 32, B = 44;
  const H = P + (series.length > 0 ? 6 + 16 * Math.ceil(series.length / 2) : 0);
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]).filter(Number.isFinite);
  // Axes span round numbers so the ticks are round (a fixed range such as accuracy's [0, 1] stays).
  const xt = niceTicks(Math.min(...xs, 0), Math.max(...xs, 1));
  const yt = niceTicks(opts.yMin ?? Math.min(...ys, 0), opts.yMax ?? Math.max(...ys, 1e-6));
  const x0 = xt.lo, x1 = xt.hi;
  const y0 = opts.yMin ?? yt.lo, y1 = opts.yMax ?? yt.hi;
  const sx = (x: number) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R);
  const sy = (y: number) => P - B - ((y - y0) / (y1 - y0 || 1)) * (P - T - B);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`];
  for (const y of yt.ticks.filter((v) => v >= y0 - 1e-9 && v <= y1 + 1e-9)) {
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${sy(y)}" y2="${sy(y)}" stroke="#ddd"/>`, `<text x="${L - 6}" y="${sy(y) + 4}" text-anchor="end">${yt.label(y)}</text>`);
  }
  parts.push(`<text x="${W / 2}" y="${P - 8}" text-anchor="middle">${esc(xLabel)}</text>`);
  for (const x of xt.ticks) parts.push(`<text x="${sx(x)}" y="${P - B + 16}" text-anchor="middle">${xt.label(x)}</text>`);
  series.forEach((s, k) => {
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length > 0) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ')}"/>`);
    if (s.markers) for (const p of pts) parts.push(`<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="3.5" fill="${s.color}"/>`);
    s.points.forEach(([x, y], i) => {
      const e = s.errors?.[i];
      if (!e || !Number.isFinite(y)) return;
      const [cx, lo, hi] = [sx(x).toFixed(1), sy(Math.max(y0, y - e)).toFixed(1), sy(Math.min(y1, y + e)).toFixed(1)];
      parts.push(`<path d="M${cx},${lo}V${hi}M${+cx - 4},${lo}h8M${+cx - 4},${hi}h8" stroke="${s.color}" fill="none"/>`);
    });
    const [lx, ly] = [L + (k % 2) * ((W - L) / 2), P + 6 + 16 * Math.floor(k / 2)];
    parts.push(`<rect x="${lx}" y="${ly + 2}" width="12" height="3" fill="${s.color}"/>`, `<text x="${lx + 18}" y="${ly + 7}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Confusion matrix heat map (rows = true class, columns = predicted), row-normalised colours with counts. */
export function confusionSvg(m: Metrics, classNames: readonly string[], title = 'Confusion matrix'): string {
  const k = m.confusion.length;
  // Room for the longest class name: beside the rows, and above the columns where names are rotated 30°.
  const longest = Math.max(...classNames.slice(0, k).map((n) => n.length), 1) * 6.5;
  const cell = 44, L = 28 + longest, T = 36 + longest / 2;
  const W = L + k * cell + 16 + longest / 2, H = T + k * cell + 40;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)} (accuracy ${(100 * m.accuracy).toFixed(1)} %)</text>`];
  for (let i = 0; i < k; i++) {
    const rowSum = m.confusion[i]!.reduce((a, b) => a + b, 0) || 1;
    parts.push(`<text x="${L - 6}" y="${T + i * cell + cell / 2 + 4}" text-anchor="end">${esc(classNames[i] ?? String(i))}</text>`);
    parts.push(`<text x="${L + i * cell + cell / 2}" y="${T - 8}" text-anchor="middle" transform="rotate(-30 ${L + i * cell + cell / 2} ${T - 8})">${esc(classNames[i] ?? String(i))}</text>`);
    for (let j = 0; j < k; j++) {
      const v = m.confusion[i]![j]!;
      const f = v / rowSum;
      const shade = Math.round(255 - 200 * f);
      parts.push(`<rect x="${L + j * cell}" y="${T + i * cell}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="#fff"/>`);
      parts.push(`<text x="${L + j * cell + cell / 2}" y="${T + i * cell + cell / 2 + 4}" text-anchor="middle" fill="${f > 0.5 ? 'white' : 'black'}">${v}</text>`);
    }
  }
  parts.push(`<text x="${L + (k * cell) / 2}" y="${H - 10}" text-anchor="middle">predicted</text>`, `<text x="12" y="${T + (k * cell) / 2}" text-anchor="middle" transform="rotate(-90 12 ${T + (k * cell) / 2})">true</text>`, '</svg>');
  return parts.join('\n');
}

export interface GridItem {
  /** PNG bytes of the image. */
  png: Uint8Array;
  label: string;
  sublabel?: string;
  ok?: boolean;
}

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** A grid of images with captions (green when correct, red when wrong). */
export function imageGridSvg(items: GridItem[], columns: number, size: number, title: string): string {
  const cw = Math.max(size, 110), ch = size + 34;
  const rows = Math.ceil(items.length / columns);
  const W = columns * cw, H = 28 + rows * ch;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="10">`, `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(title)}</text>`];
  items.forEach((it, i) => {
    const x = (i % columns) * cw + (cw - size) / 2;
    const y = 28 + Math.floor(i / columns) * ch;
    parts.push(`<image x="${x}" y="${y}" width="${size}" height="${size}" href="data:image/png;base64,${base64(it.png)}"/>`);
    const color = it.ok === undefined ? 'black' : it.ok ? '#080' : '#c00';
    parts.push(`<text x="${x + size / 2}" y="${y + size + 12}" text-anchor="middle" fill="${color}">${esc(it.label)}</text>`);
    if (it.sublabel) parts.push(`<text x="${x + size / 2}" y="${y + size + 24}" text-anchor="middle" fill="#555">${esc(it.sublabel)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** A Markdown table of a metrics object. */
export function metricsMarkdown(m: Metrics, classNames: readonly string[]): string {
  const lines = [`accuracy **${(100 * m.accuracy).toFixed(2)} %**, macro-F1 ${(100 * m.macroF1).toFixed(2)} % on ${m.count} images`, '', '| class | accuracy |', '|---|---|'];
  m.perClassAccuracy.forEach((a, i) => lines.push(`| ${classNames[i]} | ${Number.isNaN(a) ? '–' : `${(100 * a).toFixed(1)} %`} |`));
  return lines.join('\n');
}
