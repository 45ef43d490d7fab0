/**
 * SynthFER's rasteriser: anti-aliased polygon coverage (4 sub-rows per pixel, exact horizontal coverage
 * per sub-row), compositing with an optional per-pixel shade and clip mask, and the curve helpers the
 * painters build polygons with.
 */
import type { Rgb } from './types.ts';

export interface Box {
  x0: number;
  y0: number;
  x1: number; // exclusive
  y1: number; // exclusive
}

/** A brightness factor at a pixel centre (pixel coordinates). */
export type Shade = (px: number, py: number) => number;

const SUBROWS = 4;

export class Raster {
  readonly rgb: Float32Array;
  readonly cov: Float32Array;
  readonly clip: Float32Array;
  private xs = new Float64Array(512);
  private ws = new Int8Array(512);
  private ex0 = new Float64Array(1024);
  private ey0 = new Float64Array(1024);
  private ey1 = new Float64Array(1024);
  private eslope = new Float64Array(1024);
  private edir = new Int8Array(1024);

  constructor(readonly n: number) {
    this.rgb = new Float32Array(3 * n * n);
    this.cov = new Float32Array(n * n);
    this.clip = new Float32Array(n * n);
  }

  /** Adds the coverage of the polygon (flat x,y pixel coordinates, one or more contours) to `buf`. */
  cover(contours: readonly number[][], buf: Float32Array, evenOdd = false): Box {
    const n = this.n;
    let ne = 0;
    let minY = Infinity, maxY = -Infinity, minX = Infinity, maxX = -Infinity;
    for (const c of contours) {
      const m = c.length >> 1;
      for (let i = 0; i < m; i++) {
        const xa = c[2 * i]!, ya = c[2 * i + 1]!;
        const j = i + 1 === m ? 0 : i + 1;
        const xb = c[2 * j]!, yb = c[2 * j + 1]!;
        if (xa < minX) minX = xa;
        if (xa > maxX) maxX = xa;
        if (ya < minY) minY = ya;
        if (ya > maxY) maxY = ya;
        if (ya === yb) continue;
        if (ne === this.ex0.length) this.growEdges();
        if (ya < yb) {
          this.ex0[ne] = xa; this.ey0[ne] = ya; this.ey1[ne] = yb; this.edir[ne] = 1;
        } else {
          this.ex0[ne] = xb; this.ey0[ne] = yb; this.ey1[ne] = ya; this.edir[ne] = -1;
        }
        this.eslope[ne] = (xb - xa) / (yb - ya);
        ne++;
      }
    }
    const box: Box = {
      x0: Math.max(0, Math.floor(minX)),
      x1: Math.min(n, Math.ceil(maxX) + 1),
      y0: Math.max(0, Math.floor(minY)),
      y1: Math.min(n, Math.ceil(maxY) + 1),
    };
    if (box.x0 >= box.x1 || box.y0 >= box.y1) return box;
    const { ex0, ey0, ey1, eslope, edir, xs, ws } = this;
    const w = 1 / SUBROWS;
    for (let py = box.y0; py < box.y1; py++) {
      const row = py * n;
      for (let s = 0; s < SUBROWS; s++) {
        const y = py + (s + 0.5) * w;
        let nx = 0;
        for (let e = 0; e < ne; e++) {
          if (y < ey0[e]! || y >= ey1[e]!) continue;
          const x = ex0[e]! + (y - ey0[e]!) * eslope[e]!;
          // insertion sort by x
          let k = nx++;
          while (k > 0 && xs[k - 1]! > x) {
            xs[k] = xs[k - 1]!;
            ws[k] = ws[k - 1]!;
            k--;
          }
          xs[k] = x;
          ws[k] = edir[e]!;
        }
        let wind = 0;
        for (let k = 0; k + 1 < nx; k++) {
          wind = evenOdd ? wind ^ 1 : wind + ws[k]!;
          if (wind === 0) continue;
          let xl = xs[k]!, xr = xs[k + 1]!;
          if (xl < 0) xl = 0;
          if (xr > n) xr = n;
          if (xr <= xl) continue;
          const jl = Math.floor(xl), jr = Math.floor(xr);
          if (jl === jr) {
            buf[row + jl] = buf[row + jl]! + (xr - xl) * w;
          } else {
            buf[row + jl] = buf[row + jl]! + (jl + 1 - xl) * w;
            for (let j = jl + 1; j < jr; j++) buf[row + j] = buf[row + j]! + w;
            if (jr < n) buf[row + jr] = buf[row + jr]! + (xr - jr) * w;
          }
        }
      }
    }
    return box;
  }

  private growEdges(): void {
    const grow = <T extends Float64Array | Int8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(a.length * 2);
      b.set(a);
      return b;
    };
    this.ex0 = grow(this.ex0);
    this.ey0 = grow(this.ey0);
    this.ey1 = grow(this.ey1);
    this.eslope = grow(this.eslope);
    this.edir = grow(this.edir);
  }

  /** Composites `color` (times `shade` at the pixel centre) with the coverage in `cov`, then clears it. */
  paint(box: Box, color: Rgb, alpha: number, shade?: Shade, clip?: Float32Array): void {
    const n = this.n, plane = n * n, cov = this.cov, rgb = this.rgb;
    for (let py = box.y0; py < box.y1; py++) {
      for (let px = box.x0; px < box.x1; px++) {
        const i = py * n + px;
        let a = cov[i]!;
        if (a <= 0) continue;
        cov[i] = 0;
        if (a > 1) a = 1;
        if (clip) a *= Math.min(1, clip[i]!);
        a *= alpha;
        if (a <= 0) continue;
        const s = shade ? shade(px + 0.5, py + 0.5) : 1;
        rgb[i] = rgb[i]! + (color[0] * s - rgb[i]!) * a;
        rgb[plane + i] = rgb[plane + i]! + (color[1] * s - rgb[plane + i]!) * a;
        rgb[2 * plane + i] = rgb[2 * plane + i]! + (color[2] * s - rgb[2 * plane + i]!) * a;
      }
    }
  }

  fill(contours: readonly number[][], color: Rgb, alpha = 1, shade?: Shade, clip?: Float32Array, evenOdd = false): void {
    this.paint(this.cover(contours, this.cov, evenOdd), color, alpha, shade, clip);
  }

  clearClip(box: Box): void {
    for (let py = box.y0; py < box.y1; py++) this.clip.fill(0, py * this.n + box.x0, py * this.n + box.x1);
  }
}

/** Samples t in [0, 1] with `steps` intervals; landmark parameters are added exactly. */
export function params(steps: number, exact: readonly number[] = []): number[] {
  const ts = new Set<number>();
  for (let i = 0; i <= steps; i++) ts.add(i / steps);
  for (const t of exact) ts.add(t);
  return [...ts].sort((a, b) => a - b);
}

/** A thick polyline as a polygon: offsets along the normals by halfWidth(t) on both sides. */
export function strokePolygon(pts: readonly number[], halfWidth: (t: number) => number): number[] {
  const m = pts.length >> 1;
  const left: number[] = [];
  const right: number[] = [];
  for (let i = 0; i < m; i++) {
    const a = Math.max(0, i - 1), b = Math.min(m - 1, i + 1);
    let dx = pts[2 * b]! - pts[2 * a]!, dy = pts[2 * b + 1]! - pts[2 * a + 1]!;
    const len = Math.hypot(dx, dy) || 1;
    dx /= len;
    dy /= len;
    const h = halfWidth(m === 1 ? 0 : i / (m - 1));
    const x = pts[2 * i]!, y = pts[2 * i + 1]!;
    left.push(x - dy * h, y + dx * h);
    right.push(x + dy * h, y - dx * h);
  }
  const out = left;
  for (let i = m - 1; i >= 0; i--) out.push(right[2 * i]!, right[2 * i + 1]!);
  return out;
}

export function ellipsePoints(cx: number, cy: number, rx: number, ry: number, steps: number, f: (x: number, y: number) => [number, number]): number[] {
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const a = (2 * Math.PI * i) / steps;
    const p = f(cx + rx * Math.cos(a), cy + ry * Math.sin(a));
    out.push(p[0], p[1]);
  }
  return out;
}
