// Gaussian heatmaps of 2-D points: out[b, k, y, x] = exp(−((cx − px)² + (cy − py)²) / (2σ²)) with
// pixel centres c = (j + 0.5) / size and points (px, py) in [0, 1] from the top-left, σ in pixels.
struct Params { n: u32, stride: u32, size: u32, points: u32, sigma: f32 }
@group(0) @binding(0) var<storage, read> pts: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  let s = p.size;
  let xj = i % s;
  let yi = (i / s) % s;
  let bk = i / (s * s);
  let fs = f32(s);
  let dx = (f32(xj) + 0.5) - pts[2u * bk] * fs;
  let dy = (f32(yi) + 0.5) - pts[2u * bk + 1u] * fs;
  out[i] = exp(-(dx * dx + dy * dy) / (2.0 * p.sigma * p.sigma));
}
