// Transposed (channel) attention of Restormer's MDTA, fused. For each (batch b, head h) — a "slice",
// id = b·heads + h — the rows are the d = C/heads channels of that head, each a vector over the
// n = H·W pixels, so row i of slice s starts at element (s·d + i)·n of an NCHW tensor.
//   Ĝ = q̂ k̂ᵀ (rows L2-normalised, norm clamped at 1e-12), attn = softmax_rows(t_h · Ĝ), out = attn · v.
// Saved for backward in the tail of out's buffer (`saved`): attn and Ĝ ([slices, d, d] each) at
// attn_at / ghat_at, then the raw row norms of q and of k ([batch·C] each) at norms_at.
// Entry points:
//   gram_forward     q kᵀ and the row norms in one pass over n, then Ĝ and the row softmax.
//   gram_backward    dA = dout vᵀ by the same pass, then the softmax, temperature and normalisation
//                    backward on the d × d matrices: M = dĜ / (nq nk) with dĜ = t·dS, the
//                    projection coefficients of q's rows, partial sums for k's and for dt.
//   finish_partials  k's projection coefficients and dt[h], summed in a fixed order (no atomics).
//   apply_attention  z = op(M) · y − c ⊙ u per slice: out = attn · v, dv = attnᵀ · dout,
//                    dq = M · k − c_q ⊙ q, dk = Mᵀ · q − c_k ⊙ k.
// With Ĝ_ij = q̂_i·k̂_j, x̂ = x / max(‖x‖, eps) and q̂_i·dq̂_i = Σ_j dĜ_ij Ĝ_ij:
//   dq_i = Σ_j dĜ_ij / (nq_i nk_j) · k_j − c_q,i · q_i,  c_q,i = Σ_j dĜ_ij Ĝ_ij / nq_i²
//   dk_j = Σ_i dĜ_ij / (nq_i nk_j) · q_i − c_k,j · k_j,  c_k,j = Σ_i dĜ_ij Ĝ_ij / nk_j²
// (n = max(‖x‖, eps); c = 0 where ‖x‖ < eps: the clamped norm is a constant), so the
// normalisation backward needs no extra pass over the pixels.
struct Params {
  batch: u32, heads: u32, d: u32, n: u32,
  block_rows: u32, blocks: u32, col_tiles: u32, tiles: u32,
  slices: u32, slice_len: u32, attn_at: u32, ghat_at: u32,
  norms_at: u32, mat_at: u32, coef_at: u32,
  // apply_attention's 1-D launch: vec4-column groups per row, row tiles per slice, grid x extent
  col_groups: u32, row_tiles: u32, stride: u32,
}

const EPS: f32 = 1e-12; // F.normalize's clamp of the norm
// Invocations of the gram entries: a power of two ≥ tiles · slices and ≥ block_rows, ≤ 256 (idle
// lanes still run on CPU adapters: a 4×4 map's 16 tiles would leave 240 of 256 lanes idle).
override GRAM_WG: u32 = 256u;
const APPLY_WG: u32 = 64u; // = @workgroup_size of the others
// What bounds CPU adapters is per-invocation loads, so every long loop works on register blocks
// fed by vec4 loads along n (when n % 4 == 0, VEC = 1, every row starts 16-byte aligned).
override VEC: u32 = 0u;
override GT: u32 = 4u; // gram kernels: GT × GT products per invocation (4 or 8)
override RT: u32 = 4u; // apply kernels: rows per invocation (4 or 8)
override CV: u32 = 1u; // apply kernels: vec4 column groups per invocation (1 or 2)
override TRANS: u32 = 0u; // apply_attention: 1 multiplies by Mᵀ
override PROJ: u32 = 0u; // apply_attention: 1 subtracts c ⊙ u
override MVEC: u32 = 0u; // apply_attention: 1 when d % 4 == 0 (M read as vec4s)
const MAX_GT: u32 = 8u;
const MAX_RT: u32 = 8u;
const MAX_CV: u32 = 2u;

// Row operands (q, k, v, dout) as vec4s. gram: x = q or dout, y = k or v; apply_attention: y = the
// right operand, x = u.
@group(0) @binding(0) var<storage, read> rows_x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> rows_y: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> temperature: array<f32>;
@group(0) @binding(3) var<storage, read_write> attn: array<f32>;
@group(0) @binding(4) var<storage, read_write> saved: array<f32>;
@group(0) @binding(5) var<storage, read> saved_in: array<f32>;
// [slices, d, d]: dĜ / (nq nk)
@group(0) @binding(6) var<storage, read_write> mq: array<f32>;
// [3, slices, d]: c_q, c_k, dt partial of each row
@group(0) @binding(7) var<storage, read_write> coef: array<f32>;
// [slices, blocks, d]: Σ over a block's rows i of dĜ_ij Ĝ_ij
@group(0) @binding(8) var<storage, read_write> colpart: array<f32>;
@group(0) @binding(9) var<storage, read> colpart_in: array<f32>;
@group(0) @binding(10) var<storage, read_write> dtemp: array<f32>;
// [.., d, d] row-major, as vec4s: with MVEC (d % 4 == 0) four entries of a row are one load.
@group(0) @binding(11) var<storage, read> mat: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read> coef_in: array<f32>;
@group(0) @binding(13) var<storage, read_write> z_out: array<f32>;
@group(0) @binding(14) var<uniform> p: Params;

// Elements k .. k+3 of the row starting at element `at`; those at or past `end` read as 0.
fn load_x(at: u32, k: u32, end: u32) -> vec4<f32> {
  if (VEC == 1u) { return rows_x[(at + k) >> 2u]; }
  var v: vec4<f32>;
  for (var c = 0u; c < 4u; c++) {
    let i = at + min(k + c, end - 1u);
    v[c] = select(0.0, rows_x[i >> 2u][i & 3u], k + c < end);
  }
  return v;
}
fn load_y(at: u32, k: u32, end: u32) -> vec4<f32> {
  if (VEC == 1u) { return rows_y[(at + k) >> 2u]; }
  var v: vec4<f32>;
  for (var c = 0u; c < 4u; c++) {
    let i = at + min(k + c, end - 1u);
    v[c] = select(0.0, rows_y[i >> 2u][i & 3u], k + c < end);
  }
  return v;
}

// The Gram block of one workgroup: [block_rows × d] products, then block_rows Σx², then d Σy².
// block_rows·d + block_rows + d ≤ 2048 (checked on the host).
var<workgroup> fin: array<f32, 2048>;

// Σ over n of x_i·y_j for the rows i of the block starting at row0 and every row j (plus Σ x_i²
// and Σ y_j² when with_norms) into `fin`. Each invocation keeps a GT×GT tile of products in
// registers over one contiguous slice of n (a multiple of 4 long); no workgroup memory in the
// long loop. The slices are then summed in workgroup memory in slice order (deterministic).
fn gram_pass(slice_id: u32, row0: u32, lid: u32, with_norms: bool) {
  let d = p.d;
  let n = p.n;
  let rb = p.block_rows;
  let tile = lid % p.tiles;
  let s = lid / p.tiles;
  let in_use = s < p.slices;
  let rt = tile / p.col_tiles;
  let ct = tile % p.col_tiles;
  let li0 = GT * rt; // block-local first row of the tile
  let j0 = GT * ct;
  let base = slice_id * d;
  // Rows past the end are clamped to a valid one; their sums are never stored.
  var xa: array<u32, MAX_GT>;
  var ya: array<u32, MAX_GT>;
  for (var a = 0u; a < GT; a++) {
    xa[a] = (base + min(row0 + li0 + a, d - 1u)) * n;
    ya[a] = (base + min(j0 + a, d - 1u)) * n;
  }
  var acc: array<f32, MAX_GT * MAX_GT>;
  var xx: array<f32, MAX_GT>;
  var yy: array<f32, MAX_GT>;
  if (in_use) {
    let start = s * p.slice_len;
    let end = min(start + p.slice_len, n);
    for (var k = start; k < end; k += 4u) {
      var xv: array<vec4<f32>, MAX_GT>;
      var yv: array<vec4<f32>, MAX_GT>;
      for (var a = 0u; a < GT; a++) {
        xv[a] = load_x(xa[a], k, end);
        yv[a] = load_y(ya[a], k, end);
      }
      for (var a = 0u; a < GT; a++) {
        for (var c = 0u; c < GT; c++) { acc[a * MAX_GT + c] += dot(xv[a], yv[c]); }
      }
      if (with_norms) {
        for (var a = 0u; a < GT; a++) {
          xx[a] += dot(xv[a], xv[a]);
          yy[a] += dot(yv[a], yv[a]);
        }
      }
    }
  }
  let rows_here = min(rb, d - row0);
  for (var r = 0u; r < p.slices; r++) {
    if (in_use && s == r) {
      for (var a = 0u; a < GT; a++) {
        for (var c = 0u; c < GT; c++) {
          let o = (li0 + a) * d + j0 + c;
          if (li0 + a < rows_here && j0 + c < d) { fin[o] = select(fin[o], 0.0, r == 0u) + acc[a * MAX_GT + c]; }
        }
      }
      if (with_norms) {
        for (var a = 0u; a < GT; a++) {
          let oq = rb * d + li0 + a;
          if (ct == 0u && li0 + a < rows_here) { fin[oq] = select(fin[oq], 0.0, r == 0u) + xx[a]; }
          let ok = rb * d + rb + j0 + a;
          if (rt == 0u && j0 + a < d) { fin[ok] = select(fin[ok], 0.0, r == 0u) + yy[a]; }
        }
      }
    }
    workgroupBarrier();
  }
}

// Workgroup (row block, slice). rows_x = q, rows_y = k.
@compute @workgroup_size(GRAM_WG)
fn gram_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let slice_id = wid.y;
  let row0 = wid.x * p.block_rows;
  gram_pass(slice_id, row0, lid, true);
  let d = p.d;
  let rb = p.block_rows;
  let kn_at = p.norms_at + p.batch * p.heads * d;
  // Σk² → 1 / max(‖k‖, eps) in place; the first block of each slice saves the raw norms.
  for (var j = lid; j < d; j += GRAM_WG) {
    let norm = sqrt(fin[rb * d + rb + j]);
    if (row0 == 0u) { saved[kn_at + slice_id * d + j] = norm; }
    fin[rb * d + rb + j] = 1.0 / max(norm, EPS);
  }
  workgroupBarrier();
  let rows_here = min(rb, d - row0);
  if (lid >= rows_here) { return; }
  let i = row0 + lid;
  let t = temperature[slice_id % p.heads];
  let qnorm = sqrt(fin[rb * d + lid]);
  saved[p.norms_at + slice_id * d + i] = qnorm;
  let inv_q = 1.0 / max(qnorm, EPS);
  let row = (slice_id * d + i) * d;
  let f = lid * d; // this invocation's row of fin, rewritten in place: Ĝ, then exp
  var m = -3.0e38;
  for (var j = 0u; j < d; j++) {
    let g = fin[f + j] * inv_q * fin[rb * d + rb + j];
    fin[f + j] = g;
    saved[p.ghat_at + row + j] = g;
    m = max(m, t * g);
  }
  var total = 0.0;
  for (var j = 0u; j < d; j++) {
    let ex = exp(t * fin[f + j] - m);
    fin[f + j] = ex;
    total += ex;
  }
  let inv_total = 1.0 / total;
  for (var j = 0u; j < d; j++) {
    let a = fin[f + j] * inv_total;
    attn[row + j] = a;
    saved[p.attn_at + row + j] = a;
  }
}

// Workgroup (row block, slice). rows_x = dout, rows_y = v, so fin holds dA = dout vᵀ.
// dS = A ⊙ (dA − rowsum(dA ⊙ A)), dĜ = t·dS, dt partial of a row = Σ_j dS·Ĝ.
@compute @workgroup_size(GRAM_WG)
fn gram_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let slice_id = wid.y;
  let row0 = wid.x * p.block_rows;
  gram_pass(slice_id, row0, lid, false);
  let d = p.d;
  let sd = p.batch * p.heads * d;
  let q_norms = p.norms_at + slice_id * d;
  let k_norms = p.norms_at + sd + slice_id * d;
  let rows_here = min(p.block_rows, d - row0);
  if (lid < rows_here) {
    let i = row0 + lid;
    let t = temperature[slice_id % p.heads];
    let row = (slice_id * d + i) * d;
    let f = lid * d; // this invocation's row of fin; ends holding dĜ_ij Ĝ_ij for the column sums
    var row_dot = 0.0;
    for (var j = 0u; j < d; j++) { row_dot += fin[f + j] * saved_in[p.attn_at + row + j]; }
    let qnorm = saved_in[q_norms + i];
    let inv_q = 1.0 / max(qnorm, EPS);
    var part = 0.0;
    var proj = 0.0;
    for (var j = 0u; j < d; j++) {
      let ds = saved_in[p.attn_at + row + j] * (fin[f + j] - row_dot);
      let dg = t * ds;
      let gh = saved_in[p.ghat_at + row + j];
      part += ds * gh;
      proj += dg * gh;
      fin[f + j] = dg * gh;
      mq[row + j] = dg * inv_q / max(saved_in[k_norms + j], EPS);
    }
    coef[slice_id * d + i] = select(0.0, proj * inv_q * inv_q, qnorm >= EPS);
    coef[2u * sd + slice_id * d + i] = part;
  }
  workgroupBarrier();
  for (var j = lid; j < d; j += GRAM_WG) {
    var total = 0.0;
    for (var li = 0u; li < rows_here; li++) { total += fin[li * d + j]; }
    colpart[(slice_id * p.blocks + wid.x) * d + j] = total;
  }
}

// One invocation per (slice, row): c_k from the blocks' partial sums; invocation h < heads also
// sums dt[h] over batch and rows.
@compute @workgroup_size(64)
fn finish_partials(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x;
  let d = p.d;
  let sd = p.batch * p.heads * d;
  if (g < sd) {
    var total = 0.0;
    for (var b = 0u; b < p.blocks; b++) { total += colpart_in[((g / d) * p.blocks + b) * d + g % d]; }
    let knorm = saved_in[p.norms_at + sd + g];
    let inv_k = 1.0 / max(knorm, EPS);
    coef[sd + g] = select(0.0, total * inv_k * inv_k, knorm >= EPS);
  }
  if (g < p.heads) {
    var total = 0.0;
    for (var b = 0u; b < p.batch; b++) {
      let at = 2u * sd + (b * p.heads + g) * d;
      for (var i = 0u; i < d; i++) { total += coef[at + i]; }
    }
    dtemp[g] = total;
  }
}

// z[slice, i, :] = Σ_j op(M)[i, j] · y[slice, j, :] − c[i] · u[slice, i, :] (the last term when
// PROJ = 1), M = mat[mat_at + slice·d·d ...], c = coef_in[coef_at + slice·d ...], u = rows_x.
// Each invocation: RT rows × 4·CV consecutive columns in registers, walking j four at a time with
// the RT × 4 block of op(M) in RT vec4 loads (MVEC; lanes load lane by lane on CPU adapters, and
// an entry per load cost as much as the rows of y). Invocations are numbered over (slice, row
// tile, column group), column groups fastest, so small maps (n = 16: 4 groups) fill every lane.
fn mat_at(i: u32) -> f32 { return mat[i >> 2u][i & 3u]; }

@compute @workgroup_size(64)
fn apply_attention(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d = p.d;
  let n = p.n;
  let t = gid.x + gid.y * p.stride;
  if (t >= p.batch * p.heads * p.row_tiles * p.col_groups) { return; }
  let slice_id = t / (p.row_tiles * p.col_groups);
  let i0 = ((t / p.col_groups) % p.row_tiles) * RT;
  let c0 = (t % p.col_groups) * 4u * CV;
  let mb = p.mat_at + slice_id * d * d;
  let wb = slice_id * d * n;
  var ia: array<u32, MAX_RT>;
  for (var a = 0u; a < RT; a++) { ia[a] = min(i0 + a, d - 1u); }
  var acc: array<vec4<f32>, MAX_RT * MAX_CV>;
  if (PROJ == 1u) {
    // Start from −c ⊙ u, so the product loop and the stores are those of PROJ = 0.
    for (var a = 0u; a < RT; a++) {
      let c = coef_in[p.coef_at + slice_id * d + ia[a]];
      for (var v = 0u; v < CV; v++) { acc[a * MAX_CV + v] = -c * load_x(wb + ia[a] * n, min(c0 + 4u * v, n - 1u), n); }
    }
  }
  // blk[a][jj] = op(M)[i0 + a, j0 + jj] (0 past d).
  var blk: array<vec4<f32>, MAX_RT>;
  for (var j0 = 0u; j0 < d; j0 += 4u) {
    if (MVEC == 1u && TRANS == 0u) {
      for (var a = 0u; a < RT; a++) { blk[a] = mat[(mb + ia[a] * d + j0) >> 2u]; }
    } else if (MVEC == 1u) {
      // Rows j0 … j0 + 3 of M, four of the RT columns per load (columns past d are dropped rows).
      for (var jj = 0u; jj < 4u; jj++) {
        for (var g = 0u; g < RT / 4u; g++) {
          let m4 = mat[(mb + (j0 + jj) * d + min(i0 + 4u * g, d - 4u)) >> 2u];
          for (var e = 0u; e < 4u; e++) { blk[4u * g + e][jj] = m4[e]; }
        }
      }
    } else {
      for (var a = 0u; a < RT; a++) {
        for (var jj = 0u; jj < 4u; jj++) {
          let j = min(j0 + jj, d - 1u);
          blk[a][jj] = select(0.0, select(mat_at(mb + ia[a] * d + j), mat_at(mb + j * d + ia[a]), TRANS == 1u), j0 + jj < d);
        }
      }
    }
    for (var jj = 0u; jj < 4u; jj++) {
      let j = min(j0 + jj, d - 1u);
      var w: array<vec4<f32>, MAX_CV>;
      for (var v = 0u; v < CV; v++) { w[v] = load_y(wb + j * n, min(c0 + 4u * v, n - 1u), n); }
      for (var a = 0u; a < RT; a++) {
        for (var v = 0u; v < CV; v++) { acc[a * MAX_CV + v] = fma(vec4<f32>(blk[a][jj]), w[v], acc[a * MAX_CV + v]); }
      }
    }
  }
  for (var a = 0u; a < RT; a++) {
    if (i0 + a >= d) { break; }
    let zb = wb + (i0 + a) * n;
    for (var v = 0u; v < CV; v++) {
      for (var cc = 0u; cc < 4u; cc++) {
        let col = c0 + 4u * v + cc;
        if (col < n) { z_out[zb + col] = acc[a * MAX_CV + v][cc]; }
      }
    }
  }
}
