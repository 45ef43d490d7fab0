// EPR-modulated channel LayerNorm of LRDif / DiffIR transformer blocks, x NCHW:
//   y[b,c,p] = (x̂[b,c,p]·w[c] + lb[c]) · scale[b,c] + shift[b,c],  x̂ = (x − mean_C) · rstd
// with mean and biased variance over the C channels of each pixel (Restormer's WithBias
// LayerNorm, or BiasFree without lb) followed by the `x·s + b` modulation from Linear(Z).
// The forward writes mean and rstd per pixel after y's values (at stats_at and
// stats_at + positions of the same buffer) for the backward.
//   forward:         one invocation per pixel
//   backward_input:  dx = rstd · (g − mean_C(g) − x̂ · mean_C(g ⊙ x̂)), g = dy · scale · w
//   backward_params: one invocation per (segment, b, c): A = Σ dy ⊙ x̂, D = Σ dy over one
//                    segment of the (b, c) plane (lib/plane_sums.wgsl) → partials
//   reduce_params:   one invocation per c: A, D = Σ over segments, dscale = w·A + lb·D,
//                    dshift = D, dw = Σ_b scale·A, dlb = Σ_b scale·D (no atomics, fixed order)
// #include "lib/channel_base.wgsl"
// #include "lib/plane_sums.wgsl"
struct Params { batch: u32, C: u32, hw: u32, eps: f32, stride: u32, stats_at: u32, has_bias: u32, segments: u32, segment_groups: u32 }
// hw % 4 == 0: every group of 4 pixels is one aligned vec4 of x, dy and the stats.
override ALIGNED: bool = false;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> ln_weight: array<f32>;
@group(0) @binding(2) var<storage, read> ln_bias: array<f32>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read> shift: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read> saved: array<f32>;
@group(0) @binding(7) var<storage, read> dy: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;
@group(0) @binding(9) var<storage, read_write> partials: array<f32>;
@group(0) @binding(10) var<storage, read> partials_in: array<f32>;
@group(0) @binding(11) var<storage, read_write> dscale: array<f32>;
@group(0) @binding(12) var<storage, read_write> dshift: array<f32>;
@group(0) @binding(13) var<storage, read_write> dln_weight: array<f32>;
@group(0) @binding(14) var<storage, read_write> dln_bias: array<f32>;
@group(0) @binding(15) var<uniform> p: Params;
@group(0) @binding(16) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(17) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(18) var<storage, read> saved4: array<vec4<f32>>;

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let pos = gid.x + gid.y * p.stride;
  let positions = p.batch * p.hw;
  if (pos >= positions) { return; }
  let base = channel_base(pos, p.C, p.hw); // pos over B·H·W
  // Sums of (x − first value) and its square: one pass, and the variance stays accurate when
  // |mean| ≫ std.
  let first = x[base];
  var s = vec2<f32>(0.0);
  for (var c = 0u; c < p.C; c++) {
    let d = x[base + c * p.hw] - first;
    s += vec2<f32>(d, d * d);
  }
  let inv_c = 1.0 / f32(p.C);
  let dmean = s.x * inv_c;
  let mean = first + dmean;
  let rstd = inverseSqrt(max(s.y * inv_c - dmean * dmean, 0.0) + p.eps);
  let bc = (pos / p.hw) * p.C;
  for (var c = 0u; c < p.C; c++) {
    let i = base + c * p.hw;
    var v = (x[i] - mean) * rstd * ln_weight[c];
    if (p.has_bias == 1u) { v += ln_bias[c]; }
    y[i] = v * scale[bc + c] + shift[bc + c];
  }
  y[p.stats_at + pos] = mean;
  y[p.stats_at + positions + pos] = rstd;
}

@compute @workgroup_size(256)
fn backward_input(@builtin(global_invocation_id) gid: vec3<u32>) {
  let pos = gid.x + gid.y * p.stride;
  let positions = p.batch * p.hw;
  if (pos >= positions) { return; }
  let base = channel_base(pos, p.C, p.hw); // pos over B·H·W
  let bc = (pos / p.hw) * p.C;
  let mean = saved[p.stats_at + pos];
  let rstd = saved[p.stats_at + positions + pos];
  var s = vec2<f32>(0.0);
  for (var c = 0u; c < p.C; c++) {
    let i = base + c * p.hw;
    let g = dy[i] * scale[bc + c] * ln_weight[c];
    s += vec2<f32>(g, g * (x[i] - mean) * rstd);
  }
  let inv_c = 1.0 / f32(p.C);
  let mean_g = s.x * inv_c;
  let mean_gx = s.y * inv_c;
  for (var c = 0u; c < p.C; c++) {
    let i = base + c * p.hw;
    let g = dy[i] * scale[bc + c] * ln_weight[c];
    dx[i] = rstd * (g - mean_g - (x[i] - mean) * rstd * mean_gx);
  }
}

// A and D of every segment of every (b, c) plane into partials (segment_partials).
@compute @workgroup_size(64)
fn backward_params(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.batch * p.C * p.segments) { return; }
  segment_partials(i, p.batch, p.C, p.hw, p.stats_at, p.segment_groups);
}

@compute @workgroup_size(64)
fn reduce_params(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  let w = ln_weight[c];
  var lb = 0.0;
  if (p.has_bias == 1u) { lb = ln_bias[c]; }
  let planes = p.batch * p.C;
  var s = vec2<f32>(0.0);
  for (var b = 0u; b < p.batch; b++) {
    var a = 0.0;
    var d = 0.0;
    for (var seg = 0u; seg < p.segments; seg++) {
      a += partials_in[2u * seg * planes + b * p.C + c];
      d += partials_in[(2u * seg + 1u) * planes + b * p.C + c];
    }
    let sc = scale[b * p.C + c];
    dscale[b * p.C + c] = w * a + lb * d;
    dshift[b * p.C + c] = d;
    s += sc * vec2<f32>(a, d);
  }
  dln_weight[c] = s.x;
  if (p.has_bias == 1u) { dln_bias[c] = s.y; }
}
