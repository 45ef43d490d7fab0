// KL(softmax(t/τ) ‖ softmax(s/τ)) per row of logits viewed as [rows, L], summed and scaled on
// the GPU: a forward that reduces straight to per-workgroup sums (sum_partials.wgsl adds them when
// a launch has several workgroups) and a one-dispatch backward. LANES invocations share a row.
// #include "lib/row_reduce.wgsl"
// #include "lib/neg_big.wgsl"
struct Params {
  rows: u32,
  L: u32,
  // forward: rows per step of workgroup_id.y; backward: invocations per step of y.
  row_stride: u32,
  n: u32,
  scale: f32,
  inv_tau: f32,
}
override LANES: u32 = 1u; // power of two, divides WG
const WG: u32 = 256u; // = @workgroup_size below

@group(0) @binding(0) var<storage, read> tlogits: array<f32>;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> stats_r: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

// Per row: Σ_i p_i (log p_i − log q_i), p = softmax(t·inv_tau) (tlogits), q = softmax(s·inv_tau)
// (logits). stats per row: (max t, log Σ p-exps, max s, log Σ q-exps).
@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let row = row_of(wid, lid, p.row_stride);
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
  if (lid == 0u) { out[wid.x + wid.y * nwg.x] = total * p.scale; }
}

// d/ds = dy · scale · (q − p), scale = 1/(B·τ). The target gets no gradient (detached).
@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row_stride;
  if (i >= p.n) { return; }
  let row = i / p.L;
  let lp = (tlogits[i] - stats_r[4u * row]) * p.inv_tau - stats_r[4u * row + 1u];
  let lq = (logits[i] - stats_r[4u * row + 2u]) * p.inv_tau - stats_r[4u * row + 3u];
  dx[i] = dy[0] * p.scale * (exp(lq) - exp(lp));
}
