// Layer normalisation of a tensor viewed as [outer, C, inner], normalised over C at each of the
// outer·inner positions (element c of position pos sits at base(pos) + c·inner). inner = 1 is
// torch.nn.LayerNorm over the last axis; inner = H·W normalises NCHW over channels per pixel.
// Biased variance (÷ C). The forward writes mean and rstd per position after y's values (at
// stats_at and stats_at + positions of the same buffer) so the backward can reuse them.
// LANES invocations share a position in forward and backward_input (reduce_row combines them).
// #include "lib/row_reduce.wgsl"
// #include "lib/channel_base.wgsl"
// #include "lib/hsum.wgsl"
// #include "lib/plane_sums.wgsl"
struct Params {
  outer: u32, C: u32, inner: u32, eps: f32, row_stride: u32, stats_at: u32,
  segments: u32, segment_groups: u32, // backward_params_planes: segments per plane, 4-pixel groups per segment
}
override HAS_WEIGHT: u32 = 1u;
override HAS_BIAS: u32 = 1u;
override LANES: u32 = 1u; // invocations per position (forward, backward_input); power of two
override CB: u32 = 1u; // channels per workgroup (backward_params); power of two
override GRAD_WEIGHT: u32 = 1u;
override GRAD_BIAS: u32 = 1u;
const WG: u32 = 256u; // = @workgroup_size below

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> saved: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(8) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(9) var<uniform> p: Params;

fn weight_at(c: u32) -> f32 {
  if (HAS_WEIGHT == 1u) { return weight[c]; }
  return 1.0;
}

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let pos = row_of(wid, lid, p.row_stride);
  let positions = p.outer * p.inner;
  let valid = pos < positions;
  let base = channel_base(pos, p.C, p.inner);
  // Sums of (x − shift) and its square, shifted by the position's first value so that the
  // variance stays accurate when |mean| ≫ std; one pass over x instead of two.
  var s = vec2<f32>(0.0);
  var shift = 0.0;
  if (valid) {
    shift = x[base];
    for (var c = lane; c < p.C; c += LANES) {
      let d = x[base + c * p.inner] - shift;
      s += vec2<f32>(d, d * d);
    }
  }
  s = reduce_row(s, lid, ROW_SUM);
  if (!valid) { return; }
  let inv_c = 1.0 / f32(p.C);
  let dmean = s.x * inv_c;
  let variance = max(s.y * inv_c - dmean * dmean, 0.0);
  let mean = shift + dmean;
  let rstd = inverseSqrt(variance + p.eps);
  for (var c = lane; c < p.C; c += LANES) {
    let i = base + c * p.inner;
    var v = (x[i] - mean) * rstd * weight_at(c);
    if (HAS_BIAS == 1u) { v += bias[c]; }
    y[i] = v;
  }
  if (lane == 0u) {
    y[p.stats_at + pos] = mean;
    y[p.stats_at + positions + pos] = rstd;
  }
}

// dx = rstd · (g − mean_C(g) − x̂ · mean_C(g ⊙ x̂)), with g = dy ⊙ weight and x̂ = (x − mean) · rstd.
@compute @workgroup_size(256)
fn backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let pos = row_of(wid, lid, p.row_stride);
  let positions = p.outer * p.inner;
  let valid = pos < positions;
  let base = channel_base(pos, p.C, p.inner);
  var mean = 0.0;
  var rstd = 0.0;
  var s = vec2<f32>(0.0);
  if (valid) {
    mean = saved[p.stats_at + pos];
    rstd = saved[p.stats_at + positions + pos];
    for (var c = lane; c < p.C; c += LANES) {
      let i = base + c * p.inner;
      let g = dy[i] * weight_at(c);
      s += vec2<f32>(g, g * (x[i] - mean) * rstd);
    }
  }
  s = reduce_row(s, lid, ROW_SUM);
  if (!valid) { return; }
  let inv_c = 1.0 / f32(p.C);
  let mean_g = s.x * inv_c;
  let mean_gx = s.y * inv_c;
  for (var c = lane; c < p.C; c += LANES) {
    let i = base + c * p.inner;
    let g = dy[i] * weight_at(c);
    dx[i] = rstd * (g - mean_g - (x[i] - mean) * rstd * mean_gx);
  }
}

// dweight[c] = Σ_pos dy ⊙ x̂ and dbias[c] = Σ_pos dy for channels-last rows (inner = 1): each
// workgroup owns CB channels and reduces over every position with WG / CB lanes per channel (no
// atomics, deterministic order) in `red` (lib/workgroup_sum.wgsl's scratch). CB > 1 makes
// neighbouring invocations read neighbouring channels.
@compute @workgroup_size(256)
fn backward_params(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x * CB + lid % CB;
  let lane = lid / CB;
  let positions = p.outer * p.inner;
  var s = vec2<f32>(0.0);
  if (c < p.C) {
    for (var pos = lane; pos < positions; pos += WG / CB) {
      let i = channel_base(pos, p.C, p.inner) + c * p.inner;
      let g = dy[i];
      s += vec2<f32>(g * (x[i] - saved[p.stats_at + pos]) * saved[p.stats_at + positions + pos], g);
    }
  }
  red[lid] = s;
  workgroupBarrier();
  for (var st = WG / CB / 2u; st > 0u; st = st / 2u) {
    if (lane < st) { red[lid] = red[lid] + red[lid + st * CB]; }
    workgroupBarrier();
  }
  if (lane == 0u && c < p.C) {
    if (GRAD_WEIGHT == 1u) { dweight[c] = red[lid].x; }
    if (GRAD_BIAS == 1u) { dbias[c] = red[lid].y; }
  }
}

// The same sums for NCHW (inner = H·W > 1), in two passes without workgroup trees (on CPU adapters
// a tree over 256 lanes cost more than the sums of a 4×4 plane): backward_params_planes sums one
// segment of one (outer o, channel c) plane per invocation (lib/plane_sums.wgsl) into
// partials[(s·2 + {0, 1})·outer·C + o·C + c]; reduce_planes adds them per channel in a fixed order.
override ALIGNED: bool = false; // inner % 4 == 0
@group(0) @binding(19) var<storage, read> saved4: array<vec4<f32>>;
@group(0) @binding(20) var<storage, read_write> partials: array<f32>;
@group(0) @binding(21) var<storage, read> partials_in: array<f32>;

@compute @workgroup_size(64)
fn backward_params_planes(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row_stride;
  if (i >= p.outer * p.C * p.segments) { return; }
  segment_partials(i, p.outer, p.C, p.inner, p.stats_at, p.segment_groups);
}

@compute @workgroup_size(64)
fn reduce_planes(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  let planes = p.outer * p.C;
  var s = vec2<f32>(0.0);
  for (var seg = 0u; seg < p.segments; seg++) {
    for (var o = 0u; o < p.outer; o++) {
      s += vec2<f32>(partials_in[2u * seg * planes + o * p.C + c], partials_in[(2u * seg + 1u) * planes + o * p.C + c]);
    }
  }
  if (GRAD_WEIGHT == 1u) { dweight[c] = s.x; }
  if (GRAD_BIAS == 1u) { dbias[c] = s.y; }
}

// CPU-adapter variants for channels-last rows (inner = 1, C a multiple of 4, one invocation per
// position): rows are read and written as vec4s, and the statistics go to their own binding (the
// stats region of y's buffer, bound separately: no aliasing with y4). On llvmpipe a storage access
// costs per invocation about as much as per value, so this halves the memory-bound kernels.
const PWG: u32 = 64u; // = @workgroup_size of backward_params_vec4
@group(0) @binding(10) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(11) var<storage, read> weight4: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read> bias4: array<vec4<f32>>;
@group(0) @binding(13) var<storage, read_write> y4: array<vec4<f32>>;
// [mean × positions, rstd × positions]
@group(0) @binding(14) var<storage, read_write> stats: array<f32>;
@group(0) @binding(15) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(16) var<storage, read_write> dx4: array<vec4<f32>>;
@group(0) @binding(17) var<storage, read_write> dweight4: array<vec4<f32>>;
@group(0) @binding(18) var<storage, read_write> dbias4: array<vec4<f32>>;

var<workgroup> red4: array<vec4<f32>, 2u * PWG>;

fn weight4_at(k: u32) -> vec4<f32> {
  if (HAS_WEIGHT == 1u) { return weight4[k]; }
  return vec4<f32>(1.0);
}

@compute @workgroup_size(64)
fn forward_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let pos = gid.x + gid.y * p.row_stride;
  let positions = p.outer;
  if (pos >= positions) { return; }
  let n4 = p.C / 4u;
  let base = pos * n4;
  let shift = x4[base].x; // as in forward: sums of x − shift keep the variance accurate
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  for (var k = 0u; k < n4; k++) {
    let d = x4[base + k] - shift;
    s1 += d;
    s2 += d * d;
  }
  let inv_c = 1.0 / f32(p.C);
  let dmean = hsum(s1) * inv_c;
  let variance = max(hsum(s2) * inv_c - dmean * dmean, 0.0);
  let mean = shift + dmean;
  let rstd = inverseSqrt(variance + p.eps);
  for (var k = 0u; k < n4; k++) {
    var v = (x4[base + k] - mean) * rstd * weight4_at(k);
    if (HAS_BIAS == 1u) { v += bias4[k]; }
    y4[base + k] = v;
  }
  stats[pos] = mean;
  stats[positions + pos] = rstd;
}

@compute @workgroup_size(64)
fn backward_input_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let pos = gid.x + gid.y * p.row_stride;
  let positions = p.outer;
  if (pos >= positions) { return; }
  let n4 = p.C / 4u;
  let base = pos * n4;
  let mean = saved[p.stats_at + pos];
  let rstd = saved[p.stats_at + positions + pos];
  var sg = vec4<f32>(0.0);
  var sgx = vec4<f32>(0.0);
  for (var k = 0u; k < n4; k++) {
    let g = dy4[base + k] * weight4_at(k);
    sg += g;
    sgx += g * (x4[base + k] - mean) * rstd;
  }
  let inv_c = 1.0 / f32(p.C);
  let mean_g = hsum(sg) * inv_c;
  let mean_gx = hsum(sgx) * inv_c;
  for (var k = 0u; k < n4; k++) {
    let g = dy4[base + k] * weight4_at(k);
    dx4[base + k] = rstd * (g - mean_g - (x4[base + k] - mean) * rstd * mean_gx);
  }
}

// One workgroup per 4 channels; its PWG invocations stride over the positions, then a tree sum.
@compute @workgroup_size(64)
fn backward_params_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let k = wid.x;
  let n4 = p.C / 4u;
  let positions = p.outer;
  var sw = vec4<f32>(0.0);
  var sb = vec4<f32>(0.0);
  for (var pos = lid; pos < positions; pos += PWG) {
    let i = pos * n4 + k;
    let g = dy4[i];
    sw += g * (x4[i] - saved[p.stats_at + pos]) * saved[p.stats_at + positions + pos];
    sb += g;
  }
  red4[lid] = sw;
  red4[PWG + lid] = sb;
  workgroupBarrier();
  for (var st = PWG / 2u; st > 0u; st = st / 2u) {
    if (lid < st) {
      red4[lid] += red4[lid + st];
      red4[PWG + lid] += red4[PWG + lid + st];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    if (GRAD_WEIGHT == 1u) { dweight4[k] = red4[0]; }
    if (GRAD_BIAS == 1u) { dbias4[k] = red4[PWG]; }
  }
}
