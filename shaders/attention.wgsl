// Fused scaled-dot-product attention, flash-attention style: softmax(scale · q kᵀ + B_rel) v per
// (batch, head), with an optional relative-position bias of a w×w window (Swin indexing) and query
// batches shared by several key/value batches (the same landmark queries in every window).
//
// Layouts (contiguous f32): q [Bq, heads, nq, dh], k and v [B, heads, nk, dh], out [B, heads, nq, dh],
// lse [B, heads, nq], bias table [(2w−1)², heads]; query batch of key batch b is b / q_share.
//
// Forward: one invocation per query, a workgroup per block of queries of one (batch, head). Key and
// value tiles stream through workgroup memory and an online softmax (running max m, sum l) rescales
// the accumulator once per tile, so scores are never stored beyond one tile per invocation.
// Backward recomputes probabilities from the saved log-sum-exp (lse):
//   row_stats:        (lse, Δ = Σ_d dO·O) per query row.
//   backward_dq:      one invocation per query, streaming keys of every key batch that uses it. With
//                     the bias, a workgroup also walks a group of batches and sums dS over them
//                     into its own slice of ds_sum [groups, heads, nq, nk] (each element has one
//                     owning invocation, so a plain read-modify-write is race-free).
//   backward_dkdv:    one invocation per key, streaming queries.
//   backward_dtable:  one invocation per (offset, head) sums the ds_sum entries of every pair with
//                     that offset: deterministic, no atomics, no recomputation.
// #include "lib/neg_big.wgsl"
// #include "lib/hsum.wgsl"
struct Params {
  nq: u32, nk: u32, dh: u32, heads: u32,
  q_share: u32, window: u32, batch: u32, stride: u32,
  scale: f32, q_group: u32, groups: u32,
}
override DH4: u32 = 8u;        // ceil(dh / 4): vec4 columns per row
override BIAS: bool = false;   // add the relative-position bias
override SUM_DS: bool = false; // backward_dq: also sum dS into ds_sum (for the bias gradient)
override BLOCK: u32 = 64u;     // invocations per workgroup (queries or keys)
override TILE: u32 = 32u;      // rows per streamed tile, ≤ MAX_TILE
override TILE_VEC4: u32 = 256u; // TILE · DH4
const MAX_DH4: u32 = 32u;      // head dim ≤ 128
const MAX_TILE: u32 = 32u;

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> bias_table: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read> attn_out: array<f32>;
@group(0) @binding(7) var<storage, read> dout: array<f32>;
@group(0) @binding(8) var<storage, read> saved_lse: array<f32>;
@group(0) @binding(9) var<storage, read_write> stats_out: array<f32>;
@group(0) @binding(10) var<storage, read> row_stats: array<vec2<f32>>;
@group(0) @binding(11) var<storage, read_write> dq: array<f32>;
@group(0) @binding(12) var<storage, read_write> dk: array<f32>;
@group(0) @binding(13) var<storage, read_write> dv: array<f32>;
@group(0) @binding(14) var<storage, read_write> dtable: array<f32>;
@group(0) @binding(16) var<storage, read_write> ds_sum: array<f32>;
@group(0) @binding(15) var<uniform> p: Params;

// Two streamed tiles (keys and values forward, queries and dO for dk/dv), plus per-row extras:
// the window offset term of the bias index and (lse, Δ) of query rows.
var<workgroup> tile_a: array<vec4<f32>, TILE_VEC4>;
var<workgroup> tile_b: array<vec4<f32>, TILE_VEC4>;
var<workgroup> tile_pos: array<u32, MAX_TILE>;
var<workgroup> tile_stats: array<vec2<f32>, MAX_TILE>;

// Column c (4 values, zero past dh) of the row starting at `base`, one reader per buffer.
fn q4(base: u32, c: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var t = 0u; t < 4u; t++) { let d = 4u * c + t; if (d < p.dh) { r[t] = q[base + d]; } }
  return r;
}
fn k4(base: u32, c: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var t = 0u; t < 4u; t++) { let d = 4u * c + t; if (d < p.dh) { r[t] = k[base + d]; } }
  return r;
}
fn v4(base: u32, c: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var t = 0u; t < 4u; t++) { let d = 4u * c + t; if (d < p.dh) { r[t] = v[base + d]; } }
  return r;
}
fn dout4(base: u32, c: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var t = 0u; t < 4u; t++) { let d = 4u * c + t; if (d < p.dh) { r[t] = dout[base + d]; } }
  return r;
}

// Bias index of the pair (i, j) = query_pos(i) − key_pos(j), with (row-major y, x) window positions:
// (yi − yj + w − 1)(2w − 1) + (xi − xj + w − 1). Splitting it keeps one subtraction per score.
fn query_pos(i: u32) -> u32 {
  let w = p.window;
  return (i / w + w - 1u) * (2u * w - 1u) + i % w + w - 1u;
}
fn key_pos(j: u32) -> u32 {
  let w = p.window;
  return (j / w) * (2u * w - 1u) + j % w;
}
fn bias_of(pos: u32, head: u32) -> f32 { return bias_table[pos * p.heads + head]; }

@compute @workgroup_size(BLOCK)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let head = wid.y;
  let b = wid.z;
  let i = wid.x * BLOCK + lid;
  let valid = i < p.nq;
  let q_row = (((b / p.q_share) * p.heads + head) * p.nq + i) * p.dh;
  let kv_head = (b * p.heads + head) * p.nk;
  var qs: array<vec4<f32>, MAX_DH4>;
  var acc: array<vec4<f32>, MAX_DH4>;
  for (var c = 0u; c < DH4; c++) {
    qs[c] = select(vec4<f32>(0.0), q4(q_row, c) * p.scale, valid);
    acc[c] = vec4<f32>(0.0);
  }
  let qpos = query_pos(i);
  var m = NEG_BIG;
  var l = 0.0;
  for (var j0 = 0u; j0 < p.nk; j0 += TILE) {
    let count = min(TILE, p.nk - j0);
    workgroupBarrier(); // the previous tile has been consumed
    for (var t = lid; t < count * DH4; t += BLOCK) {
      let row = (kv_head + j0 + t / DH4) * p.dh;
      tile_a[t] = k4(row, t % DH4);
      tile_b[t] = v4(row, t % DH4);
    }
    if (BIAS) { for (var t = lid; t < count; t += BLOCK) { tile_pos[t] = key_pos(j0 + t); } }
    workgroupBarrier();
    if (valid) {
      var s: array<f32, MAX_TILE>;
      var tile_max = NEG_BIG;
      for (var j = 0u; j < count; j++) {
        var d4 = vec4<f32>(0.0);
        for (var c = 0u; c < DH4; c++) { d4 = fma(qs[c], tile_a[j * DH4 + c], d4); }
        var sc = hsum(d4);
        if (BIAS) { sc += bias_of(qpos - tile_pos[j], head); }
        s[j] = sc;
        tile_max = max(tile_max, sc);
      }
      let m_new = max(m, tile_max);
      let corr = exp(m - m_new);
      l *= corr;
      for (var c = 0u; c < DH4; c++) { acc[c] *= corr; }
      for (var j = 0u; j < count; j++) {
        let pj = exp(s[j] - m_new);
        l += pj;
        for (var c = 0u; c < DH4; c++) { acc[c] = fma(vec4<f32>(pj), tile_b[j * DH4 + c], acc[c]); }
      }
      m = m_new;
    }
  }
  if (!valid) { return; }
  let row = (b * p.heads + head) * p.nq + i;
  let inv_l = 1.0 / l;
  for (var c = 0u; c < DH4; c++) {
    let o = acc[c] * inv_l;
    for (var t = 0u; t < 4u; t++) { let d = 4u * c + t; if (d < p.dh) { out[row * p.dh + d] = o[t]; } }
  }
  lse[row] = m + log(l);
}

// (lse, Δ = Σ_d dO·O) per output row: the softmax-backward term of every query, computed once.
@compute @workgroup_size(64)
fn row_stats_main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x + gid.y * p.stride;
  if (row >= p.batch * p.heads * p.nq) { return; }
  var delta = 0.0;
  for (var d = 0u; d < p.dh; d++) { delta = fma(dout[row * p.dh + d], attn_out[row * p.dh + d], delta); }
  stats_out[2u * row] = saved_lse[row];
  stats_out[2u * row + 1u] = delta;
}

// dq_i = scale Σ_b Σ_j dS_bij k_bj with dS = P ⊙ (dO vᵀ − Δ), over the q_share key batches b that
// use a query batch; workgroup z handles query batches [z·q_group, (z+1)·q_group).
@compute @workgroup_size(BLOCK)
fn backward_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let head = wid.y;
  let i = wid.x * BLOCK + lid;
  let valid = i < p.nq;
  let q_batches = p.batch / p.q_share;
  let bq_first = wid.z * p.q_group;
  let bq_end = min(q_batches, bq_first + p.q_group);
  let sum_row = ((wid.z * p.heads + head) * p.nq + i) * p.nk;
  var qs: array<vec4<f32>, MAX_DH4>;
  var dor: array<vec4<f32>, MAX_DH4>;
  var acc: array<vec4<f32>, MAX_DH4>;
  let qpos = query_pos(i);
  for (var bq = bq_first; bq < bq_end; bq++) {
    let q_row = ((bq * p.heads + head) * p.nq + i) * p.dh;
    for (var c = 0u; c < DH4; c++) {
      qs[c] = select(vec4<f32>(0.0), q4(q_row, c) * p.scale, valid);
      acc[c] = vec4<f32>(0.0);
    }
    for (var win = 0u; win < p.q_share; win++) {
      let b = bq * p.q_share + win;
      let first = bq == bq_first && win == 0u;
      let row = (b * p.heads + head) * p.nq + i;
      var st = vec2<f32>(0.0);
      if (valid) {
        st = row_stats[row];
        for (var c = 0u; c < DH4; c++) { dor[c] = dout4(row * p.dh, c); }
      }
      let kv_head = (b * p.heads + head) * p.nk;
      for (var j0 = 0u; j0 < p.nk; j0 += TILE) {
        let count = min(TILE, p.nk - j0);
        workgroupBarrier();
        for (var t = lid; t < count * DH4; t += BLOCK) {
          let krow = (kv_head + j0 + t / DH4) * p.dh;
          tile_a[t] = k4(krow, t % DH4);
          tile_b[t] = v4(krow, t % DH4);
        }
        if (BIAS) { for (var t = lid; t < count; t += BLOCK) { tile_pos[t] = key_pos(j0 + t); } }
        workgroupBarrier();
        if (valid) {
          for (var j = 0u; j < count; j++) {
            var s4 = vec4<f32>(0.0);
            var dp4 = vec4<f32>(0.0);
            for (var c = 0u; c < DH4; c++) {
              s4 = fma(qs[c], tile_a[j * DH4 + c], s4);
              dp4 = fma(dor[c], tile_b[j * DH4 + c], dp4);
            }
            var sc = hsum(s4);
            if (BIAS) { sc += bias_of(qpos - tile_pos[j], head); }
            let ds = exp(sc - st.x) * (hsum(dp4) - st.y);
            for (var c = 0u; c < DH4; c++) { acc[c] = fma(vec4<f32>(ds), tile_a[j * DH4 + c], acc[c]); }
            if (SUM_DS) {
              let at = sum_row + j0 + j;
              if (first) { ds_sum[at] = ds; } else { ds_sum[at] += ds; }
            }
          }
        }
      }
    }
    if (valid) {
      for (var c = 0u; c < DH4; c++) {
        let g = acc[c] * p.scale;
        for (var t = 0u; t < 4u; t++) { let d = 4u * c + t; if (d < p.dh) { dq[q_row + d] = g[t]; } }
      }
    }
  }
}

// dv_j = Σ_i P_ij dO_i and dk_j = scale Σ_i dS_ij q_i for one key per invocation, streaming the
// queries (of query batch b / q_share) with their dO rows and (lse, Δ).
@compute @workgroup_size(BLOCK)
fn backward_dkdv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let head = wid.y;
  let b = wid.z;
  let j = wid.x * BLOCK + lid;
  let valid = j < p.nk;
  let k_row = ((b * p.heads + head) * p.nk + j) * p.dh;
  var kr: array<vec4<f32>, MAX_DH4>;
  var vr: array<vec4<f32>, MAX_DH4>;
  var dk_acc: array<vec4<f32>, MAX_DH4>;
  var dv_acc: array<vec4<f32>, MAX_DH4>;
  for (var c = 0u; c < DH4; c++) {
    kr[c] = select(vec4<f32>(0.0), k4(k_row, c), valid);
    vr[c] = select(vec4<f32>(0.0), v4(k_row, c), valid);
    dk_acc[c] = vec4<f32>(0.0);
    dv_acc[c] = vec4<f32>(0.0);
  }
  let kpos = key_pos(j);
  let q_head = ((b / p.q_share) * p.heads + head) * p.nq;
  let o_head = (b * p.heads + head) * p.nq;
  for (var i0 = 0u; i0 < p.nq; i0 += TILE) {
    let count = min(TILE, p.nq - i0);
    workgroupBarrier();
    for (var t = lid; t < count * DH4; t += BLOCK) {
      let r = i0 + t / DH4;
      tile_a[t] = q4((q_head + r) * p.dh, t % DH4) * p.scale;
      tile_b[t] = dout4((o_head + r) * p.dh, t % DH4);
    }
    for (var t = lid; t < count; t += BLOCK) {
      tile_stats[t] = row_stats[o_head + i0 + t];
      if (BIAS) { tile_pos[t] = query_pos(i0 + t); }
    }
    workgroupBarrier();
    if (valid) {
      for (var i = 0u; i < count; i++) {
        var s4 = vec4<f32>(0.0);
        var dp4 = vec4<f32>(0.0);
        for (var c = 0u; c < DH4; c++) {
          s4 = fma(tile_a[i * DH4 + c], kr[c], s4);
          dp4 = fma(tile_b[i * DH4 + c], vr[c], dp4);
        }
        var sc = hsum(s4);
        if (BIAS) { sc += bias_of(tile_pos[i] - kpos, head); }
        let st = tile_stats[i];
        let pij = exp(sc - st.x);
        let ds = pij * (hsum(dp4) - st.y);
        for (var c = 0u; c < DH4; c++) {
          dv_acc[c] = fma(vec4<f32>(pij), tile_b[i * DH4 + c], dv_acc[c]);
          dk_acc[c] = fma(vec4<f32>(ds), tile_a[i * DH4 + c], dk_acc[c]);
        }
      }
    }
  }
  if (!valid) { return; }
  for (var c = 0u; c < DH4; c++) {
    for (var t = 0u; t < 4u; t++) {
      let d = 4u * c + t;
      if (d < p.dh) { dk[k_row + d] = dk_acc[c][t]; dv[k_row + d] = dv_acc[c][t]; }
    }
  }
}

// dtable[o, h] = Σ_groups Σ_{i − j = o} ds_sum[g, h, i, j]: one invocation owns one (offset, head)
// and loops over the pairs with that offset, so each table entry has exactly one writer.
@compute @workgroup_size(64)
fn backward_dtable(@builtin(global_invocation_id) gid: vec3<u32>) {
  let w = i32(p.window);
  let span = 2 * w - 1;
  let n_off = u32(span * span);
  let t = gid.x + gid.y * p.stride;
  if (t >= n_off * p.heads) { return; }
  // Neighbouring invocations take neighbouring offsets of one head, so their reads are neighbours too.
  let head = t / n_off;
  let off = t % n_off;
  let oy = i32(off) / span - (w - 1);
  let ox = i32(off) % span - (w - 1);
  var acc = 0.0;
  for (var g = 0u; g < p.groups; g++) {
    let base = (g * p.heads + head) * p.nq;
    for (var yi = max(0, oy); yi < min(w, w + oy); yi++) {
      for (var xi = max(0, ox); xi < min(w, w + ox); xi++) {
        let i = u32(yi * w + xi);
        let j = u32((yi - oy) * w + xi - ox);
        acc += ds_sum[(base + i) * p.nk + j];
      }
    }
  }
  dtable[off * p.heads + head] = acc;
}
