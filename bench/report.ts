/**
 * The HTML report: an inline-SVG roofline (measured bandwidth slope and matmul ceiling, the CPU's
 * physical limit where known, one point per kernel row), the peer comparison chart (our speed-up
 * per op on a log axis, one bar per peer) and the training-step table. Wall time and process CPU time
 * are both tabled; the plots and ratios use the result's basis (CPU time on CPU adapters: the roofline
 * is then per CPU-second and the physical limit one core's). No scripts, no external files.
 */
import type { BenchResult } from './suites.ts';
import { otherLoad, type BenchRow } from './harness.ts';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const PEER_COLOURS: Record<string, string> = { 'tfjs-webgpu': '#e67e22', 'jax-webgpu': '#2980b9', 'jax-wasm': '#8e44ad' };

export function rooflineSvg(r: BenchResult): string {
  const W = 760, H = 440, L = 70, R = 20, T = 30, B = 50;
  const cpuBasis = r.ratioBasis === 'cpu';
  // On the CPU basis every rate is per CPU-second of this process, and the physical limit is one core's.
  const rate = (p: BenchRow) => (cpuBasis ? { gflops: p.gflopsPerCpuSecond, gbps: p.gbpsPerCpuSecond } : { gflops: p.gflops, gbps: p.gbps });
  const points = [...r.kernels, ...r.fused.flatMap((f) => [f.fused, f.composed])].map((p) => ({ ...p, ...rate(p) })).filter((p) => p.gflops > 0 && p.gbps > 0);
  const peakF = (cpuBasis ? r.peaks?.flopsGPerCpuSecond : r.peaks?.flopsG) ?? 1;
  const bw = (cpuBasis ? r.peaks?.bandwidthGBsPerCpuSecond : r.peaks?.bandwidthGBs) ?? 1;
  const limit = r.cpu ? (cpuBasis ? r.cpu.gflops / r.cpu.cores : r.cpu.gflops) : 0;
  const unit = cpuBasis ? 'per CPU-second' : 'per second';
  const top = Math.max(peakF, limit, ...points.map((p) => p.gflops)) * 2;
  const bottom = Math.min(0.01, ...points.map((p) => p.gflops)) / 2;
  const xs = points.map((p) => p.gflops / p.gbps);
  const left = Math.min(0.05, ...xs) / 2, right = Math.max(200, ...xs) * 2;
  const x = (v: number) => L + ((Math.log10(v) - Math.log10(left)) / (Math.log10(right) - Math.log10(left))) * (W - L - R);
  const y = (v: number) => H - B - ((Math.log10(v) - Math.log10(bottom)) / (Math.log10(top) - Math.log10(bottom))) * (H - T - B);
  const parts: string[] = [];
  for (let d = Math.ceil(Math.log10(left)); d <= Math.log10(right); d++) parts.push(`<line x1="${x(10 ** d)}" x2="${x(10 ** d)}" y1="${T}" y2="${H - B}" stroke="#eee"/><text x="${x(10 ** d)}" y="${H - B + 16}" font-size="11" text-anchor="middle">${10 ** d}</text>`);
  for (let d = Math.ceil(Math.log10(bottom)); d <= Math.log10(top); d++) parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(10 ** d)}" y2="${y(10 ** d)}" stroke="#eee"/><text x="${L - 6}" y="${y(10 ** d) + 4}" font-size="11" text-anchor="end">${10 ** d}</text>`);
  // Measured roofline: min(peak matmul, intensity · bandwidth).
  const knee = peakF / bw;
  parts.push(`<polyline fill="none" stroke="#c0392b" stroke-width="2" points="${x(left)},${y(bw * left)} ${x(knee)},${y(peakF)} ${x(right)},${y(peakF)}"/>`);
  parts.push(`<text x="${x(right) - 4}" y="${y(peakF) - 6}" font-size="11" text-anchor="end" fill="#c0392b">measured: ${bw.toFixed(1)} GB, ${peakF.toFixed(1)} GFLOP ${unit}</text>`);
  if (r.cpu) {
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(limit)}" y2="${y(limit)}" stroke="#555" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${x(right) - 4}" y="${y(limit) - 6}" font-size="11" text-anchor="end" fill="#555">${cpuBasis ? "one core's physical limit" : 'CPU physical limit'} ${limit.toFixed(0)} GFLOP ${unit}</text>`);
  }
  for (const p of points) {
    const fill = p.mode === 'fwd' ? '#27ae60' : '#2c3e50';
    parts.push(`<circle cx="${x(p.gflops / p.gbps)}" cy="${y(p.gflops)}" r="4" fill="${fill}" opacity="0.8"><title>${esc(`${p.name} ${p.shape} ${p.mode}: ${p.gflops.toFixed(2)} GFLOP, ${p.gbps.toFixed(2)} GB ${unit}, ${(100 * p.rooflineFraction).toFixed(0)} % of roofline`)}</title></circle>`);
    parts.push(`<text x="${x(p.gflops / p.gbps) + 6}" y="${y(p.gflops) + 3}" font-size="9" fill="#333">${esc(`${p.name}${p.mode === 'fwd' ? '' : ' ∇'}`)}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 10}" font-size="12" text-anchor="middle">arithmetic intensity (FLOP / byte, minimum traffic)</text>`);
  parts.push(`<text x="16" y="${(T + H - B) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 16 ${(T + H - B) / 2})">GFLOP ${unit}</text>`);
  parts.push(`<text x="${W - R}" y="${T - 10}" font-size="11" text-anchor="end"><tspan fill="#27ae60">● fwd</tspan>  <tspan fill="#2c3e50">● fwd+bwd (∇)</tspan></text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif"><rect width="${W}" height="${H}" fill="white"/>${parts.join('')}</svg>`;
}

export function peerChartSvg(r: BenchResult): string {
  if (!r.peers) return '';
  const names = r.peers.peers.filter((p) => p.ok).map((p) => p.name);
  const rows = r.peers.rows;
  const rowH = 8 * Math.max(1, names.length) + 8;
  const W = 760, L = 300, R = 40, T = 30, H = T + rows.length * rowH + 30;
  const ratios = rows.flatMap((row) => names.map((n) => row.peers[n]?.speedup ?? 1));
  const lo = Math.min(0.1, ...ratios) / 1.5, hi = Math.max(10, ...ratios) * 1.5;
  const x = (v: number) => L + ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (W - L - R);
  const parts: string[] = [];
  for (let d = Math.ceil(Math.log10(lo)); d <= Math.log10(hi); d++) parts.push(`<line x1="${x(10 ** d)}" x2="${x(10 ** d)}" y1="${T}" y2="${H - 30}" stroke="${d === 0 ? '#000' : '#eee'}"/><text x="${x(10 ** d)}" y="${H - 16}" font-size="11" text-anchor="middle">${10 ** d}×</text>`);
  rows.forEach((row, i) => {
    const y0 = T + i * rowH;
    parts.push(`<text x="${L - 6}" y="${y0 + rowH / 2 + 3}" font-size="10" text-anchor="end">${esc(`${row.op} ${row.shape} ${row.mode}`)}</text>`);
    names.forEach((n, j) => {
      const p = row.peers[n];
      const y = y0 + 4 + j * 8;
      if (!p || p.speedup === undefined) {
        parts.push(`<text x="${x(1) + 4}" y="${y + 6}" font-size="8" fill="#999">${esc(n)}: ${esc(p?.error ?? 'not run')}</text>`);
        return;
      }
      const a = x(1), b = x(p.speedup);
      const cmp = row.basis === 'cpu' ? `${p.cpuMs!.toFixed(2)} CPU ms vs ours ${row.oursCpuMs.toFixed(2)}` : `${p.ms!.toFixed(2)} ms vs ours ${row.oursMs.toFixed(2)}`;
      parts.push(`<rect x="${Math.min(a, b)}" y="${y}" width="${Math.max(1, Math.abs(b - a))}" height="7" fill="${PEER_COLOURS[n] ?? '#777'}"><title>${esc(`${n}: ${cmp} → ${p.speedup.toFixed(2)}×`)}</title></rect>`);
    });
  });
  const clock = r.ratioBasis === 'cpu' ? 'CPU ms' : 'ms';
  parts.push(`<text x="${W - R}" y="18" font-size="11" text-anchor="end">${names.map((n) => `<tspan fill="${PEER_COLOURS[n] ?? '#777'}">■ ${n}</tspan>`).join('  ')}  (our speed-up = peer ${clock} / our ${clock}; right of 1× = we are faster)</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif"><rect width="${W}" height="${H}" fill="white"/>${parts.join('')}</svg>`;
}

function table(head: string[], body: string[][]): string {
  return `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${body.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</table>`;
}

export function reportHtml(r: BenchResult): string {
  const s: string[] = [];
  s.push(`<h1>LRDif WebGPU benchmarks</h1><p>${esc(r.adapter)} — ${esc(r.date)} — suites: ${esc(r.suites.join(', '))}, sizes: ${esc(r.size)}. Timing: ${esc(r.timing)}. Ratios use ${r.ratioBasis === 'cpu' ? 'process CPU time (a CPU adapter)' : 'wall time'}. Load average at start: ${r.loadAverage.map((l) => l.toFixed(2)).join(' / ')}; "other load" = CPUs kept busy by other processes during a row.</p>`);
  if (r.cpu) s.push(`<p>CPU physical limit: ${esc(r.cpu.formula)} (${esc(r.cpu.model)}, clock from ${esc(r.cpu.clockSource)}).</p>`);
  if (r.peaks) {
    const p = r.peaks;
    s.push(`<p>Peak probes: streaming axpy ${p.bandwidthGBs.toFixed(2)} GB/s (${p.bandwidthGBsPerCpuSecond.toFixed(2)} GB per CPU-second); best matmul (${esc(p.matmulVariant)}, ${p.matmulN}³) ${p.flopsG.toFixed(2)} GFLOP/s${r.cpu ? ` = ${((100 * p.flopsG) / r.cpu.gflops).toFixed(1)} % of the CPU limit` : ''}, ${p.flopsGPerCpuSecond.toFixed(2)} GFLOP per CPU-second${r.cpu ? ` = ${((100 * p.flopsGPerCpuSecond * r.cpu.cores) / r.cpu.gflops).toFixed(1)} % of one core's limit` : ''}.</p>`);
  }
  if (r.kernels.length || r.fused.length) {
    s.push(`<h2>Roofline</h2>${rooflineSvg(r)}`);
    const rowCells = (b: BenchRow) => [b.name, b.shape, b.mode, b.medianMs.toFixed(3), b.cpuMs.toFixed(3), b.gflops.toFixed(2), b.gflopsPerCpuSecond.toFixed(2), b.gbps.toFixed(2), `${(100 * b.rooflineFraction).toFixed(1)} %`, otherLoad(b.load)];
    if (r.kernels.length) s.push(`<h3>Core kernels</h3>${table(['op', 'shape', 'mode', 'median ms', 'CPU ms', 'GFLOP/s', 'GFLOP/CPU-s', 'GB/s', 'of roofline', 'other load'], r.kernels.map(rowCells))}`);
    if (r.fused.length) s.push(`<h3>Fused kernels vs composed</h3>${table(['op', 'shape', 'mode', 'fused ms', 'fused CPU ms', 'composed ms', 'composed CPU ms', 'speed-up', 'GFLOP/s', 'GFLOP/CPU-s', 'of roofline'], r.fused.map((f) => [f.fused.name, f.fused.shape, f.fused.mode, f.fused.medianMs.toFixed(3), f.fused.cpuMs.toFixed(3), f.composed.medianMs.toFixed(3), f.composed.cpuMs.toFixed(3), `${f.speedup.toFixed(2)}×`, f.fused.gflops.toFixed(2), f.fused.gflopsPerCpuSecond.toFixed(2), `${(100 * f.fused.rooflineFraction).toFixed(1)} %`]))}`);
  }
  if (r.peers) {
    s.push(`<h2>Peers on the same adapter</h2><ul>${r.peers.peers.map((p) => `<li>${esc(p.name)}${p.version ? ` ${esc(p.version)}` : ''}: ${p.ok ? 'loaded' : `not run — ${esc(p.reason ?? '')}`}</li>`).join('')}</ul>${peerChartSvg(r)}`);
    const names = r.peers.peers.filter((p) => p.ok).map((p) => p.name);
    const body = r.peers.rows.map((row) => [row.op, row.shape, row.mode, row.oursMs.toFixed(2), row.oursCpuMs.toFixed(2), ...names.flatMap((n) => {
      const p = row.peers[n];
      return p?.ms !== undefined ? [p.ms.toFixed(2), p.cpuMs!.toFixed(2), `${p.speedup!.toFixed(2)}×`] : [p?.error ?? '—', '—', '—'];
    })]);
    body.push(['geomean', '', '', '', '', ...names.flatMap((n) => ['', '', r.peers!.geomean[n] ? `${r.peers!.geomean[n]!.value.toFixed(2)}×` : '—'])]);
    s.push(table(['op', 'shape', 'mode', 'ours ms', 'ours CPU ms', ...names.flatMap((n) => [`${n} ms`, `${n} CPU ms`, 'speed-up'])], body));
  }
  if (r.train.length) {
    s.push(`<h2>Training steps</h2>`);
    s.push(table(['preset', 'stage', 'batch', 'parameters', 'ms/step', 'CPU ms/step', 'CPU ms/image', 'other load', 'images/s', 'dispatches/step', 'submits/step', 'peak pool MiB', 'top kernels'], r.train.map((t) => [t.frozen ? `${t.preset} (cached frozen features)` : t.preset, String(t.stage), String(t.batch), t.parameters.toLocaleString('en'), t.msPerStep.toFixed(0), t.cpuMsPerStep.toFixed(0), t.cpuMsPerImage.toFixed(1), otherLoad(t.load), t.imagesPerSecond.toFixed(2), String(t.dispatchesPerStep), String(t.submitsPerStep), (t.peakPoolBytes / 2 ** 20).toFixed(1), t.topKernels.slice(0, 4).map((k) => `${k.kernel} ${k.percent.toFixed(0)} %`).join('; ')])));
  }
  if (r.torch?.available) {
    s.push(`<h2>Training step against the PyTorch twin</h2><p>${esc(r.torch.what)}</p>`);
    s.push(table(['preset', 'stage', 'batch', 'ours CPU ms/image', 'PyTorch CPU ms/image', 'ours ÷ PyTorch'], r.torch.rows.map((t) => [t.frozen ? `${t.preset} (cached frozen features)` : t.preset, String(t.stage), String(t.batch), t.oursCpuMsPerImage.toFixed(1), t.torchCpuMsPerImage?.toFixed(1) ?? t.error ?? '—', t.ratio !== undefined ? `${t.ratio.toFixed(2)}×` : '—'])));
  }
  for (const n of r.notes) s.push(`<p class="note">${esc(n)}</p>`);
  return `<!doctype html><html><head><meta charset="utf-8"><title>LRDif WebGPU benchmarks</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child,th:first-child,td:nth-child(2){text-align:left}.note{color:#555;font-size:13px}</style></head><body>${s.join('\n')}</body></html>`;
}
