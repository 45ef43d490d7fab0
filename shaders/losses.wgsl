// Fused losses, each a forward that reduces straight to a scalar and a one-dispatch backward:
//   cross-entropy (log-softmax + NLL with label smoothing), KL(softmax(t/τ) ‖ softmax(s/τ)) per
//   row summed and averaged over the batch, mean |a − b|, and a count of correct argmax predictions.
// Row kernels view logits as [rows, L]: LANES invocations share a row (as in softmax.wgsl), every
// workgroup then sums its rows' losses into out[workgroup]; when a launch has more than one
// workgroup, sum_partials adds those partial sums (a second, one-workgroup dispatch).
// Row statistics (max, log Σ exp) are kept separately, not as one log-sum-exp, so backward's
// exp((x − max) − log Σ) stays exact for logits of any magnitude.
// #include "lib/row_reduce.wgsl"
// #include "lib/neg_big.wgsl"
struct Params {
  rows: u32,
  L: u32,
  // Row kernels: rows per step of workgroup_id.y; elementwise kernels: invocations per step of y.
  row_stride: u32,
  n: u32,
  scale: f32,
  smoothing: f32,
  inv_tau: f32,
  // l1_backward: bit 0 = write the gradient of a, bit 1 = of b.
  flags: u32,
}
override LANES: u32 = 1u; // power of two, divides WG
const WG: u32 = 256u; // = @workgroup_size below
override RPW: u32 = WG / LANES; // rows per workgroup (derived; not set by the host)
// Elements per workgroup of l1_forward.
const FLAT_CHUNK: u32 = 4096u;

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> stats_r: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read> tlogits: array<f32>;
@group(0) @binding(8) var<storage, read> a: array<f32>;
@group(0) @binding(9) var<storage, read> b: array<f32>;
@group(0) @binding(10) var<storage, read_write> ga: array<f32>;
@group(0) @binding(11) var<storage, read_write> gb: array<f32>;
@group(0) @binding(12) var<storage, read> part: array<f32>;
@group(0) @binding(13) var<storage, read_write> count: array<atomic<u32>>;
@group(0) @binding(14) var<uniform> p: Params;

var<workgroup> hits: atomic<u32>;

// A NaN the compiler cannot fold away (a constant NaN is a shader-creation error).
fn nan_of(lid: u32) -> f32 {
  return bitcast<f32>(0x7fc00000u + min(lid, 0u));
}

fn first_row(wid: vec3<u32>) -> u32 {
  return wid.x * RPW + wid.y * p.row_stride;
}

// ---------------------------------------------------------------- cross-entropy
// loss_b = Σ_k w_k (lse − x_k) = log s + (1 − ε)(m − x_y) + (ε/K) Σ_k (m − x_k),
// with m = max_k x_k, s = Σ_k exp(x_k − m), w = (1 − ε)·onehot(y) + ε/K.
@compute @workgroup_size(256)
fn ce_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let row = first_row(wid) + lid / LANES;
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
  if (lid == 0u) { out[first_row(wid) / RPW] = total * p.scale; }
}

// dx = dy · scale · (softmax(x) − w), scale = 1/B.
@compute @workgroup_size(256)
fn ce_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
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

// ---------------------------------------------------------------- KL divergence
// Per row: Σ_i p_i (log p_i − log q_i), p = softmax(t·inv_tau) (tlogits), q = softmax(s·inv_tau)
// (logits). stats per row: (max t, log Σ p-exps, max s, log Σ q-exps).
@compute @workgroup_size(256)
fn kl_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let row = first_row(wid) + lid / LANES;
  let valid = row < p.rows;
  let base = row * p.L;
  var mx = vec2<f32>(NEG_BIG, NEG_BIG);
  if (valid) {
    for (var k = lane; k < p.L; k += LANES) { mx = max(mx, vec2<f32>(tlogits[base + k], logits[base + k])); }
  }
  mx = reduce_row(mx, lid, ROW_MAX);
  var sums = vec2<f32>(0.0, 0.0);
  if (valid) {
    for (var k = lane; k < p.L; k += LANES) {
      // Subtract the max before scaling by 1/τ: the difference is exact for nearby values.
      let z = (vec2<f32>(tlogits[base + k], logits[base + k]) - mx) * p.inv_tau;
      sums += exp(z);
    }
  }
  sums = reduce_row(sums, lid, ROW_SUM);
  let ls = log(sums);
  var kl = 0.0;
  if (valid) {
    for (var k = lane; k < p.L; k += LANES) {
      let lp = (tlogits[base + k] - mx.x) * p.inv_tau - ls.x;
      let lq = (logits[base + k] - mx.y) * p.inv_tau - ls.y;
      kl += exp(lp) * (lp - lq);
    }
  }
  kl = reduce_row(vec2<f32>(kl, 0.0), lid, ROW_SUM).x;
  var loss = 0.0;
  if (valid && lane == 0u) {
    loss = kl;
    stats[4u * row] = mx.x;
    stats[4u * row + 1u] = ls.x;
    stats[4u * row + 2u] = mx.y;
    stats[4u * row + 3u] = ls.y;
  }
  let total = workgroup_sum(loss, lid);
  if (lid == 0u) { out[first_row(wid) / RPW] = total * p.scale; }
}

// d/ds = dy · scale · (q − p), scale = 1/(B·τ). The target gets no gradient (detached).
@compute @workgroup_size(256)
fn kl_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row_stride;
  if (i >= p.n) { return; }
  let row = i / p.L;
  let lp = (tlogits[i] - stats_r[4u * row]) * p.inv_tau - stats_r[4u * row + 1u];
  let lq = (logits[i] - stats_r[4u * row + 2u]) * p.inv_tau - stats_r[4u * row + 3u];
  dx[i] = dy[0] * p.scale * (exp(lq) - exp(lp));
}

// ---------------------------------------------------------------- L1
@compute @workgroup_size(256)
fn l1_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * p.row_stride;
  let start = w * FLAT_CHUNK;
  let end = min(start + FLAT_CHUNK, p.n);
  var acc = 0.0;
  for (var i = start + lid; i < end; i += WG) { acc += abs(a[i] - b[i]); }
  let total = workgroup_sum(acc, lid);
  if (lid == 0u) { out[w] = total * p.scale; }
}

// ga = dy · sign(a − b) / n, gb = −ga (sign(0) = 0, as torch).
@compute @workgroup_size(256)
fn l1_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row_stride;
  if (i >= p.n) { return; }
  let g = dy[0] * p.scale * sign(a[i] - b[i]);
  if ((p.flags & 1u) != 0u) { ga[i] = g; }
  if ((p.flags & 2u) != 0u) { gb[i] = -g; }
}

// ---------------------------------------------------------------- helpers
// out[0] = scale · Σ part[0..n), one workgroup.
@compute @workgroup_size(256)
fn sum_partials(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var k = lid; k < p.n; k += WG) { acc += part[k]; }
  let total = workgroup_sum(acc, lid);
  if (lid == 0u) { out[0] = total * p.scale; }
}

// count[0] += number of rows whose first maximal logit is at the label (one invocation per row).
@compute @workgroup_size(256)
fn accuracy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = gid.x + gid.y * p.row_stride;
  if (row < p.rows) {
    let base = row * p.L;
    var best = logits[base];
    var arg = 0u;
    for (var k = 1u; k < p.L; k++) {
      let v = logits[base + k];
      if (v > best) { best = v; arg = k; }
    }
    if (arg == labels[row]) { atomicAdd(&hits, 1u); }
  }
  workgroupBarrier();
  if (lid == 0u) {
    let h = atomicLoad(&hits);
    if (h > 0u) { atomicAdd(&count[0], h); }
  }
}
