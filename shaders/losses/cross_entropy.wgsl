// Fused cross-entropy (log-softmax + NLL with label smoothing) of logits viewed as [rows, L]: a
// forward that reduces straight to per-workgroup sums of the rows' losses, and a one-dispatch
// backward. LANES invocations share a row (as in softmax.wgsl); when a launch has more than one
// workgroup, sum_partials.wgsl adds the partial sums. Row statistics (max, log Σ exp) are kept
// separately, not as one log-sum-exp, so backward's exp((x − max) − log Σ) stays exact for logits
// of any magnitude.
// #include "lib/row_reduce.wgsl"
// #include "lib/neg_big.wgsl"
struct Params {
  rows: u32,
  L: u32,
  // forward: rows per step of workgroup_id.y; backward: invocations per step of y.
  row_stride: u32,
  n: u32,
  scale: f32,
  smoothing: f32,
}
override LANES: u32 = 1u; // power of two, divides WG
const WG: u32 = 256u; // = @workgroup_size below

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> stats_r: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

// A NaN the compiler cannot fold away (a constant NaN is a shader-creation error).
fn nan_of(lid: u32) -> f32 {
  return bitcast<f32>(0x7fc00000u + min(lid, 0u));
}

// loss_b = Σ_k w_k (lse − x_k) = log s + (1 − ε)(m − x_y) + (ε/K) Σ_k (m − x_k),
// with m = max_k x_k, s = Σ_k exp(x_k − m), w = (1 − ε)·onehot(y) + ε/K.
// out[workgroup] = scale · Σ of its rows' losses; stats[row] = (m, log s) for the backward.
@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let row = row_of(wid, lid, p.row_stride);
  let valid = row < p.rows;
  let base = row * p.L;
  var mx = NEG_BIG;
  if (valid) {
    for (var k = lane; k < p.L; k += LANES) { mx = max(mx, logits[base + k]); }
  }
  mx = reduce_row(vec2<f32>(mx, 0.0), lid, ROW_MAX).x;
  var acc = vec2<f32>(0.0, 0.0);
  if (valid) {
    for (var k = lane; k < p.L; k += LANES) {
      let z = mx - logits[base + k];
      acc += vec2<f32>(exp(-z), z);
    }
  }
  acc = reduce_row(acc, lid, ROW_SUM);
  var loss = 0.0;
  if (valid && lane == 0u) {
    let y = labels[row];
    let log_s = log(acc.x);
    if (y < p.L) {
      loss = log_s + (1.0 - p.smoothing) * (mx - logits[base + y]) + p.smoothing / f32(p.L) * acc.y;
    } else {
      loss = nan_of(lid); // label out of range: poison the loss instead of reading out of bounds
    }
    stats[2u * row] = mx;
    stats[2u * row + 1u] = log_s;
  }
  let total = workgroup_sum(loss, lid);
  if (lid == 0u) { out[wid.x + wid.y * nwg.x] = total * p.scale; }
}

// dx = dy · scale · (softmax(x) − w), scale = 1/B.
@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = gid.x + gid.y * p.row_stride;
  if (i >= p.n) { return; }
  let row = i / p.L;
  let k = i % p.L;
  let y = labels[row];
  let prob = exp((logits[i] - stats_r[2u * row]) - stats_r[2u * row + 1u]);
  var w = p.smoothing / f32(p.L);
  if (k == y) { w += 1.0 - p.smoothing; }
  dx[i] = select(nan_of(lid), dy[0] * p.scale * (prob - w), y < p.L);
}
