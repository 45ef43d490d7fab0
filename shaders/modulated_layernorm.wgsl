// EPR-modulated channel LayerNorm of LRDif / DiffIR transformer blocks, x NCHW:
//   y[b,c,p] = (x̂[b,c,p]·w[c] + lb[c]) · scale[b,c] + shift[b,c],  x̂ = (x − mean_C) · rstd
// with mean and biased variance over the C channels of each pixel (Restormer's WithBias
// LayerNorm, or BiasFree without lb) followed by the `x·s + b` modulation from Linear(Z).
// The forward writes mean and rstd per pixel after y's values (at stats_at and
// stats_at + positions of the same buffer) for the backward.
//   forward:         one invocation per pixel
//   backward_input:  dx = rstd · (g − mean_C(g) − x̂ · mean_C(g ⊙ x̂)), g = dy · scale · w
//   backward_params: one invocation per (segment, b, c): A = Σ dy ⊙ x̂, D = Σ dy over one
//                    segment of the (b, c) plane, read as groups of 4 pixels → partials
//   reduce_params:   one invocation per c: A, D = Σ over segments, dscale = w·A + lb·D,
//                    dshift = D, dw = Σ_b scale·A, dlb = Σ_b scale·D (no atomics, fixed order)
// backward_params has no workgroup reduction: on CPU adapters barriers and a tree over 128 lanes
// cost more than the sums (a [16, 128, 4, 4] plane has 16 pixels).
// #include "lib/channel_base.wgsl"
// #include "lib/hsum.wgsl"
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

// (Σ dy ⊙ x̂, Σ dy) over a group of pixels.
fn param_sums(gy: vec4<f32>, xv: vec4<f32>, mean: vec4<f32>, rstd: vec4<f32>) -> vec2<f32> {
  return vec2<f32>(dot(gy, (xv - mean) * rstd), hsum(gy));
}

// Element i of a buffer bound as vec4s, alone in a vec4 (the unaligned path).
fn lane0(v: vec4<f32>, i: u32) -> vec4<f32> { return vec4<f32>(v[i % 4u], 0.0, 0.0, 0.0); }

// partials[(s·2 + 0)·B·C + b·C + c] = A, partials[(s·2 + 1)·B·C + b·C + c] = D of segment s:
// groups of 4 pixels [s·segment_groups, (s + 1)·segment_groups) of the plane.
@compute @workgroup_size(64)
fn backward_params(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  let planes = p.batch * p.C;
  if (i >= planes * p.segments) { return; }
  let plane = i % planes; // b·C + c: neighbouring invocations take neighbouring channels
  let seg = i / planes;
  let b = plane / p.C;
  let positions = p.batch * p.hw;
  let groups = (p.hw + 3u) / 4u;
  let g_end = min(groups, (seg + 1u) * p.segment_groups);
  let mean_at = p.stats_at + b * p.hw;
  let rstd_at = mean_at + positions;
  var s = vec2<f32>(0.0);
  if (ALIGNED) {
    // Planes and the stats of an image start on whole vec4s.
    for (var g = seg * p.segment_groups; g < g_end; g++) {
      let q = 4u * g;
      s += param_sums(dy4[(plane * p.hw + q) / 4u], x4[(plane * p.hw + q) / 4u], saved4[(mean_at + q) / 4u], saved4[(rstd_at + q) / 4u]);
    }
  } else {
    for (var q = 4u * seg * p.segment_groups; q < min(p.hw, 4u * g_end); q++) {
      let at = plane * p.hw + q;
      s += param_sums(lane0(dy4[at / 4u], at), lane0(x4[at / 4u], at), lane0(saved4[(mean_at + q) / 4u], mean_at + q), lane0(saved4[(rstd_at + q) / 4u], rstd_at + q));
    }
  }
  partials[2u * seg * planes + plane] = s.x;
  partials[(2u * seg + 1u) * planes + plane] = s.y;
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
