// Fused scaled-dot-product attention, flash-attention style: softmax(scale · q kᵀ + B_rel) v per
// (batch, head), with an optional relative-position bias of a w×w window (Swin indexing) and query
// batches shared by several key/value batches (the same landmark queries in every window).
//
// Layouts (contiguous f32, rows of dh = 4·DH4 values bound as vec4s): q [Bq, heads, nq, dh], k and
// v [B, heads, nk, dh], out [B, heads, nq, dh], lse [B, heads, nq]; query batch of key batch b is
// b / q_share. The bias is expanded once per call into bias_dense [heads, nq, nk4] (vec4s of four
// keys, zero past nk), so a score's bias is one vec4 load per four keys instead of a gather per key.
//
// Register blocking for CPU adapters: every storage load is done lane by lane there (a vec4 costs
// about one scalar), so each invocation owns QB rows (queries, or keys in backward_dkdv) and every
// row it streams serves all of them; keys are taken four at a time (one vec4 of scores per row).
// No workgroup memory, no barriers.
//   expand_bias:      bias_dense from the table.
//   forward:          QB queries per invocation, keys streamed with an online softmax (running
//                     max m, sum l) rescaled once per four keys; no score is stored.
//   row_stats_main:   (lse, Δ = Σ_d dO·O) per query row.
//   backward_dq:      QB queries per invocation, streaming the keys of every key batch that uses
//                     them. With SUM_DS an invocation also sums dS over a group of query batches
//                     into its rows of ds_sum [groups, heads, nq, nk4] (each element has one owning
//                     invocation, so a plain read-modify-write is race-free).
//   backward_dkdv:    QB keys per invocation, streaming queries.
//   backward_dtable:  one invocation per (offset, head) sums the ds_sum entries of every pair with
//                     that offset: deterministic, no atomics, no recomputation.
// #include "lib/neg_big.wgsl"
// #include "lib/hsum.wgsl"
struct Params {
  nq: u32, nk: u32, dh: u32, heads: u32,
  q_share: u32, window: u32, batch: u32, stride: u32,
  scale: f32, q_group: u32, groups: u32, nk4: u32,
  lanes: u32,       // invocations per (batch or group, head): ceil(rows / QB)
  invocations: u32, // of the launch
}
override DH4: u32 = 8u;        // dh / 4
override BIAS: bool = false;   // add the relative-position bias
override SUM_DS: bool = false; // backward_dq: also sum dS into ds_sum (for the bias gradient)
override QB: u32 = 4u;         // rows per invocation (1, 2 or 4 in backward_dkdv)
const MAX_QB: u32 = 8u;
const MAX_DH4: u32 = 32u;      // head dim ≤ 128
const MAX_ROWS: u32 = 32u;     // QB · DH4 ≤ 32

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias_table: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read> attn_out: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> saved_lse: array<f32>;
@group(0) @binding(9) var<storage, read_write> stats_out: array<vec2<f32>>;
@group(0) @binding(10) var<storage, read> row_stats: array<vec2<f32>>;
@group(0) @binding(11) var<storage, read_write> dq: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read_write> dk: array<vec4<f32>>;
@group(0) @binding(13) var<storage, read_write> dv: array<vec4<f32>>;
@group(0) @binding(14) var<storage, read_write> dtable: array<f32>;
@group(0) @binding(15) var<uniform> p: Params;
@group(0) @binding(16) var<storage, read_write> ds_sum: array<vec4<f32>>;
@group(0) @binding(17) var<storage, read_write> bias_out: array<vec4<f32>>;
@group(0) @binding(18) var<storage, read> bias_dense: array<vec4<f32>>;

// Bias index of the pair (i, j) = query_pos(i) − key_pos(j), with (row-major y, x) window positions:
// (yi − yj + w − 1)(2w − 1) + (xi − xj + w − 1).
fn query_pos(i: u32) -> u32 {
  let w = p.window;
  return (i / w + w - 1u) * (2u * w - 1u) + i % w + w - 1u;
}
fn key_pos(j: u32) -> u32 {
  let w = p.window;
  return (j / w) * (2u * w - 1u) + j % w;
}

// Launch index → (batch or group z, head, first row of the invocation).
struct Lane { z: u32, head: u32, row0: u32 }
fn lane_of(t: u32) -> Lane {
  let zh = t / p.lanes;
  return Lane(zh / p.heads, zh % p.heads, (t % p.lanes) * QB);
}

// Keys 4g … 4g + 3 that exist.
fn keys_ok(g: u32) -> vec4<bool> { return vec4<u32>(4u * g) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.nk); }

// Bias of query i against keys 4g … 4g + 3 (zero without the bias).
fn bias4(head: u32, i: u32, g: u32) -> vec4<f32> {
  if (BIAS) { return bias_dense[(head * p.nq + i) * p.nk4 + g]; }
  return vec4<f32>(0.0);
}

@compute @workgroup_size(64)
fn expand_bias(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * p.stride;
  if (t >= p.heads * p.nq * p.nk4) { return; }
  let g = t % p.nk4;
  let i = (t / p.nk4) % p.nq;
  let head = t / (p.nk4 * p.nq);
  var r = vec4<f32>(0.0);
  for (var kk = 0u; kk < 4u; kk++) {
    let j = 4u * g + kk;
    if (j < p.nk) { r[kk] = bias_table[(query_pos(i) - key_pos(j)) * p.heads + head]; }
  }
  bias_out[t] = r;
}

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * p.stride;
  if (t >= p.invocations) { return; }
  let ln = lane_of(t);
  let b = ln.z;
  let q_head = ((b / p.q_share) * p.heads + ln.head) * p.nq;
  let kv_head = (b * p.heads + ln.head) * p.nk;
  // Rows past nq repeat the last query: computed and dropped.
  var qs: array<vec4<f32>, MAX_ROWS>; // qs[u · DH4 + c]: query row0 + u, columns 4c … 4c + 3
  var acc: array<vec4<f32>, MAX_ROWS>;
  var m: array<f32, MAX_QB>;
  var l: array<f32, MAX_QB>;
  for (var u = 0u; u < QB; u++) {
    let i = min(ln.row0 + u, p.nq - 1u);
    for (var c = 0u; c < DH4; c++) {
      qs[u * DH4 + c] = q[(q_head + i) * DH4 + c] * p.scale;
      acc[u * DH4 + c] = vec4<f32>(0.0);
    }
    m[u] = NEG_BIG;
    l[u] = 0.0;
  }
  // Declared once: WGSL zero-fills a declaration each time it runs.
  var s4: array<vec4<f32>, MAX_QB>; // s4[u][kk]: query u, key 4g + kk
  var d: array<vec4<f32>, MAX_QB>;
  var p4: array<vec4<f32>, MAX_QB>;
  for (var g = 0u; g < p.nk4; g++) {
    for (var kk = 0u; kk < 4u; kk++) {
      let krow = (kv_head + min(4u * g + kk, p.nk - 1u)) * DH4;
      for (var u = 0u; u < QB; u++) { d[u] = vec4<f32>(0.0); }
      for (var c = 0u; c < DH4; c++) {
        let kv = k[krow + c];
        for (var u = 0u; u < QB; u++) { d[u] = fma(qs[u * DH4 + c], kv, d[u]); }
      }
      for (var u = 0u; u < QB; u++) { s4[u][kk] = hsum(d[u]); }
    }
    let ok = keys_ok(g);
    for (var u = 0u; u < QB; u++) {
      let s = select(vec4<f32>(NEG_BIG), s4[u] + bias4(ln.head, min(ln.row0 + u, p.nq - 1u), g), ok);
      let m_new = max(m[u], max(max(s.x, s.y), max(s.z, s.w)));
      let corr = exp(m[u] - m_new);
      p4[u] = exp(s - m_new);
      l[u] = l[u] * corr + hsum(p4[u]);
      m[u] = m_new;
      for (var c = 0u; c < DH4; c++) { acc[u * DH4 + c] *= corr; }
    }
    for (var kk = 0u; kk < 4u; kk++) {
      let vrow = (kv_head + min(4u * g + kk, p.nk - 1u)) * DH4;
      for (var c = 0u; c < DH4; c++) {
        let vv = v[vrow + c];
        for (var u = 0u; u < QB; u++) { acc[u * DH4 + c] = fma(vec4<f32>(p4[u][kk]), vv, acc[u * DH4 + c]); }
      }
    }
  }
  for (var u = 0u; u < QB; u++) {
    let i = ln.row0 + u;
    if (i < p.nq) {
      let row = (b * p.heads + ln.head) * p.nq + i;
      let inv_l = 1.0 / l[u];
      for (var c = 0u; c < DH4; c++) { out[row * DH4 + c] = acc[u * DH4 + c] * inv_l; }
      lse[row] = m[u] + log(l[u]);
    }
  }
}

// (lse, Δ = Σ_d dO·O) per output row: the softmax-backward term of every query, computed once.
@compute @workgroup_size(64)
fn row_stats_main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x + gid.y * p.stride;
  if (row >= p.batch * p.heads * p.nq) { return; }
  var delta = vec4<f32>(0.0);
  for (var c = 0u; c < DH4; c++) { delta = fma(dout[row * DH4 + c], attn_out[row * DH4 + c], delta); }
  stats_out[row] = vec2<f32>(saved_lse[row], hsum(delta));
}

// dq_i = scale Σ_b Σ_j dS_bij k_bj with dS = P ⊙ (dO vᵀ − Δ), over the q_share key batches b that
// use a query batch; lane z handles query batches [z·q_group, (z+1)·q_group).
@compute @workgroup_size(64)
fn backward_dq(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * p.stride;
  if (t >= p.invocations) { return; }
  let ln = lane_of(t);
  let q_batches = p.batch / p.q_share;
  let bq_first = ln.z * p.q_group;
  let bq_end = min(q_batches, bq_first + p.q_group);
  var qs: array<vec4<f32>, MAX_ROWS>;
  var dor: array<vec4<f32>, MAX_ROWS>;
  var acc: array<vec4<f32>, MAX_ROWS>;
  var st: array<vec2<f32>, MAX_QB>;
  // Declared once: WGSL zero-fills a declaration each time it runs.
  var b4: array<vec4<f32>, MAX_QB>;
  var g4: array<vec4<f32>, MAX_QB>; // dS of four keys, for ds_sum
  var kr: array<vec4<f32>, MAX_DH4>;
  var sd: array<vec4<f32>, MAX_QB>;
  var dpd: array<vec4<f32>, MAX_QB>;
  for (var bq = bq_first; bq < bq_end; bq++) {
    let q_head = (bq * p.heads + ln.head) * p.nq;
    for (var u = 0u; u < QB; u++) {
      let i = min(ln.row0 + u, p.nq - 1u);
      for (var c = 0u; c < DH4; c++) {
        qs[u * DH4 + c] = q[(q_head + i) * DH4 + c] * p.scale;
        acc[u * DH4 + c] = vec4<f32>(0.0);
      }
    }
    for (var win = 0u; win < p.q_share; win++) {
      let b = bq * p.q_share + win;
      let first = bq == bq_first && win == 0u;
      let o_head = (b * p.heads + ln.head) * p.nq;
      for (var u = 0u; u < QB; u++) {
        let row = o_head + min(ln.row0 + u, p.nq - 1u);
        st[u] = row_stats[row];
        for (var c = 0u; c < DH4; c++) { dor[u * DH4 + c] = dout[row * DH4 + c]; }
      }
      let kv_head = (b * p.heads + ln.head) * p.nk;
      for (var g = 0u; g < p.nk4; g++) {
        for (var u = 0u; u < QB; u++) { b4[u] = bias4(ln.head, min(ln.row0 + u, p.nq - 1u), g); }
        let ok = keys_ok(g);
        for (var kk = 0u; kk < 4u; kk++) {
          // One key at a time: its dS needs only its own score, so no score is kept.
          let krow = (kv_head + min(4u * g + kk, p.nk - 1u)) * DH4;
          for (var u = 0u; u < QB; u++) { sd[u] = vec4<f32>(0.0); dpd[u] = vec4<f32>(0.0); }
          for (var c = 0u; c < DH4; c++) {
            kr[c] = k[krow + c];
            let vv = v[krow + c];
            for (var u = 0u; u < QB; u++) {
              sd[u] = fma(qs[u * DH4 + c], kr[c], sd[u]);
              dpd[u] = fma(dor[u * DH4 + c], vv, dpd[u]);
            }
          }
          for (var u = 0u; u < QB; u++) {
            let ds = select(0.0, exp(hsum(sd[u]) + b4[u][kk] - st[u].x) * (hsum(dpd[u]) - st[u].y), ok[kk]);
            if (SUM_DS) { g4[u][kk] = ds; }
            for (var c = 0u; c < DH4; c++) { acc[u * DH4 + c] = fma(vec4<f32>(ds), kr[c], acc[u * DH4 + c]); }
          }
        }
        if (SUM_DS) {
          for (var u = 0u; u < QB; u++) {
            let i = ln.row0 + u;
            let at = ((ln.z * p.heads + ln.head) * p.nq + i) * p.nk4 + g;
            if (i < p.nq) { if (first) { ds_sum[at] = g4[u]; } else { ds_sum[at] += g4[u]; } }
          }
        }
      }
    }
    for (var u = 0u; u < QB; u++) {
      let i = ln.row0 + u;
      if (i < p.nq) { for (var c = 0u; c < DH4; c++) { dq[(q_head + i) * DH4 + c] = acc[u * DH4 + c] * p.scale; } }
    }
  }
}

// dv_j = Σ_i P_ij dO_i and dk_j = scale Σ_i dS_ij q_i for QB keys per invocation (QB divides 4, so
// their biases against a query are one vec4), streaming the queries of query batch b / q_share
// with their dO rows and (lse, Δ).
@compute @workgroup_size(64)
fn backward_dkdv(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * p.stride;
  if (t >= p.invocations) { return; }
  let ln = lane_of(t);
  let b = ln.z;
  let kv_head = (b * p.heads + ln.head) * p.nk;
  var kr: array<vec4<f32>, MAX_ROWS>;
  var vr: array<vec4<f32>, MAX_ROWS>;
  var dk_acc: array<vec4<f32>, MAX_ROWS>;
  var dv_acc: array<vec4<f32>, MAX_ROWS>;
  for (var u = 0u; u < QB; u++) {
    let row = (kv_head + min(ln.row0 + u, p.nk - 1u)) * DH4;
    for (var c = 0u; c < DH4; c++) {
      kr[u * DH4 + c] = k[row + c];
      vr[u * DH4 + c] = v[row + c];
      dk_acc[u * DH4 + c] = vec4<f32>(0.0);
      dv_acc[u * DH4 + c] = vec4<f32>(0.0);
    }
  }
  let q_head = ((b / p.q_share) * p.heads + ln.head) * p.nq;
  let o_head = (b * p.heads + ln.head) * p.nq;
  // Declared once: WGSL zero-fills a declaration each time it runs.
  var qr: array<vec4<f32>, MAX_DH4>;
  var dr: array<vec4<f32>, MAX_DH4>;
  var ds: array<vec4<f32>, MAX_QB>;
  var dp: array<vec4<f32>, MAX_QB>;
  for (var i = 0u; i < p.nq; i++) {
    for (var u = 0u; u < QB; u++) { ds[u] = vec4<f32>(0.0); dp[u] = vec4<f32>(0.0); }
    for (var c = 0u; c < DH4; c++) {
      qr[c] = q[(q_head + i) * DH4 + c];
      dr[c] = dout[(o_head + i) * DH4 + c];
      for (var u = 0u; u < QB; u++) {
        ds[u] = fma(qr[c], kr[u * DH4 + c], ds[u]);
        dp[u] = fma(dr[c], vr[u * DH4 + c], dp[u]);
      }
    }
    let st = row_stats[o_head + i];
    // The invocation's keys share one vec4 of biases (QB divides 4 and row0 is a multiple of QB).
    let bias = bias4(ln.head, i, ln.row0 / 4u);
    for (var u = 0u; u < QB; u++) {
      let pij = exp(hsum(ds[u]) * p.scale + bias[(ln.row0 + u) % 4u] - st.x);
      let dsij = pij * (hsum(dp[u]) - st.y);
      for (var c = 0u; c < DH4; c++) {
        dv_acc[u * DH4 + c] = fma(vec4<f32>(pij), dr[c], dv_acc[u * DH4 + c]);
        dk_acc[u * DH4 + c] = fma(vec4<f32>(dsij), qr[c], dk_acc[u * DH4 + c]);
      }
    }
  }
  for (var u = 0u; u < QB; u++) {
    let j = ln.row0 + u;
    if (j < p.nk) {
      for (var c = 0u; c < DH4; c++) {
        dk[(kv_head + j) * DH4 + c] = dk_acc[u * DH4 + c] * p.scale;
        dv[(kv_head + j) * DH4 + c] = dv_acc[u * DH4 + c];
      }
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
        acc += ds_sum[(base + i) * p.nk4 + j / 4u][j % 4u];
      }
    }
  }
  dtable[off * p.heads + head] = acc;
}
