// Batched matrix product: out[z] = alpha · op(A)[z] · op(B)[z] (+ bias), op = optional transpose.
// A is stored [M, K] (or [K, M] with TRANS_A), B [K, N] (or [N, K] with TRANS_B), out [M, N], all
// contiguous. The output batch index z is decomposed over up to 4 batch dimensions with per-operand
// element strides (0 where an operand is broadcast). A second set of up to 4 "reduction" batch
// dimensions is summed into the same output: that is how the gradient of a broadcast operand is
// reduced inside the kernel instead of materialised and summed afterwards.
//
// Two strategies, chosen per adapter by the autotune in src/engine/ops/matmul.ts:
//  - `register_blocked`: each invocation computes a TM×TN block of outputs from registers, no workgroup
//    memory or barriers (fast on CPU adapters, where barriers are coroutine switches). llvmpipe
//    runs every storage load lane by lane, so the larger the block, the more multiply-adds per load.
//  - `workgroup_tiled`: a workgroup stages BK-deep slices of a (4·WG_Y)×(4·WG_X) output tile in workgroup
//    memory, each invocation computing a 4×4 block (fast on real GPUs).
// Operands are bound as vec4 arrays: with VEC_A / VEC_B set (rows of the stored operand are a
// multiple of 4 floats) the register kernel loads whole vec4s; otherwise it reads components.
struct Params {
  M: u32, N: u32, K: u32, alpha: f32,
  batch0: u32, row0: u32, red_count: u32, pad0: u32,
  out_shape: vec4<u32>, out_sa: vec4<u32>, out_sb: vec4<u32>,
  red_shape: vec4<u32>, red_sa: vec4<u32>, red_sb: vec4<u32>,
}

override TRANS_A: u32 = 0u;
override TRANS_B: u32 = 0u;
override HAS_BIAS: u32 = 0u;
override VEC_A: u32 = 0u;
override VEC_B: u32 = 0u;
// workgroup shape (x along N, y along M)
override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
// register kernel: rows (4 or 8) and columns (4 or 8) per invocation
override TM: u32 = 4u;
override TN: u32 = 4u;
// tiled kernel: depth of the staged slices
override BK: u32 = 16u;

const MAX_TM: u32 = 8u;
const MAX_TN: u32 = 8u;

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> tile_a: array<vec4<f32>, BK * WG_Y>;
var<workgroup> tile_b: array<vec4<f32>, BK * WG_X>;

/** Element offsets of A and B for index z over a rank-4 batch shape (last dimension fastest). */
fn batch_offsets(z: u32, shape: vec4<u32>, sa: vec4<u32>, sb: vec4<u32>) -> vec2<u32> {
  var rem = z;
  var o = vec2<u32>(0u, 0u);
  for (var d = 3i; d >= 0i; d--) {
    let c = rem % shape[d];
    rem = rem / shape[d];
    o += c * vec2<u32>(sa[d], sb[d]);
  }
  return o;
}

fn idx_a(m: u32, k: u32) -> u32 { if (TRANS_A != 0u) { return k * p.M + m; } return m * p.K + k; }
fn idx_b(k: u32, n: u32) -> u32 { if (TRANS_B != 0u) { return n * p.K + k; } return k * p.N + n; }
fn load_a1(i: u32) -> f32 { return a[i >> 2u][i & 3u]; }
fn load_b1(i: u32) -> f32 { return b[i >> 2u][i & 3u]; }
fn load_a4(i: u32) -> vec4<f32> {
  if (VEC_A != 0u) { return a[i >> 2u]; }
  return vec4<f32>(load_a1(i), load_a1(i + 1u), load_a1(i + 2u), load_a1(i + 3u));
}
fn load_b4(i: u32) -> vec4<f32> {
  if (VEC_B != 0u) { return b[i >> 2u]; }
  return vec4<f32>(load_b1(i), load_b1(i + 1u), load_b1(i + 2u), load_b1(i + 3u));
}

fn store_row(z: u32, m: u32, n0: u32, v: vec4<f32>) {
  if (m >= p.M) { return; }
  let base = (z * p.M + m) * p.N;
  for (var c = 0u; c < 4u; c++) {
    let n = n0 + c;
    if (n < p.N) {
      var r = p.alpha * v[c];
      if (HAS_BIAS != 0u) { r += bias[n]; }
      out[base + n] = r;
    }
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn register_blocked(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * TN;
  let m0 = (gid.y + p.row0 * WG_Y) * TM; // row0 counts workgroups (grids split over dispatches)
  if (n0 >= p.N || m0 >= p.M) { return; }
  let z = gid.z + p.batch0;
  let zo = batch_offsets(z, p.out_shape, p.out_sa, p.out_sb);
  let nv = TN / 4u; // vec4 columns per row of the block
  // Rows/columns past the edge are clamped: their sums are computed from valid memory and dropped.
  var mc: array<u32, MAX_TM>;
  for (var r = 0u; r < TM; r++) { mc[r] = min(m0 + r, p.M - 1u); }
  var nc: array<u32, MAX_TN>;
  for (var c = 0u; c < TN; c++) { nc[c] = min(n0 + c, p.N - 1u); }
  // acc[r · 2 + v] = outputs (m0 + r, n0 + 4v .. n0 + 4v + 3)
  var acc: array<vec4<f32>, 2u * MAX_TM>;
  for (var i = 0u; i < 2u * TM; i++) { acc[i] = vec4<f32>(0.0); }
  let k4 = p.K & ~3u;
  for (var red = 0u; red < p.red_count; red++) {
    let o = zo + batch_offsets(red, p.red_shape, p.red_sa, p.red_sb);
    var k = 0u;
    for (; k < k4; k += 4u) {
      // bk[j · 2 + v] = B(k + j, n0 + 4v .. n0 + 4v + 3)
      var bk: array<vec4<f32>, 8>;
      if (TRANS_B == 0u) {
        for (var j = 0u; j < 4u; j++) {
          for (var v = 0u; v < nv; v++) { bk[2u * j + v] = load_b4(o.y + (k + j) * p.N + n0 + 4u * v); }
        }
      } else {
        var bc: array<vec4<f32>, MAX_TN>; // bc[c] = B(k .. k + 3, n0 + c)
        for (var c = 0u; c < TN; c++) { bc[c] = load_b4(o.y + nc[c] * p.K + k); }
        for (var j = 0u; j < 4u; j++) {
          for (var v = 0u; v < nv; v++) { bk[2u * j + v] = vec4<f32>(bc[4u * v][j], bc[4u * v + 1u][j], bc[4u * v + 2u][j], bc[4u * v + 3u][j]); }
        }
      }
      // ar[r] = A(m0 + r, k .. k + 3)
      var ar: array<vec4<f32>, MAX_TM>;
      if (TRANS_A == 0u) {
        for (var r = 0u; r < TM; r++) { ar[r] = load_a4(o.x + mc[r] * p.K + k); }
      } else {
        var ac: array<vec4<f32>, 8>; // ac[4h + j] = A(m0 + 4h .. m0 + 4h + 3, k + j)
        for (var h = 0u; h < TM / 4u; h++) {
          for (var j = 0u; j < 4u; j++) { ac[4u * h + j] = load_a4(o.x + (k + j) * p.M + m0 + 4u * h); }
        }
        for (var r = 0u; r < TM; r++) {
          let h = 4u * (r / 4u);
          ar[r] = vec4<f32>(ac[h][r % 4u], ac[h + 1u][r % 4u], ac[h + 2u][r % 4u], ac[h + 3u][r % 4u]);
        }
      }
      for (var r = 0u; r < TM; r++) {
        for (var v = 0u; v < nv; v++) {
          var s = acc[2u * r + v];
          s = fma(vec4<f32>(ar[r].x), bk[v], s);
          s = fma(vec4<f32>(ar[r].y), bk[2u + v], s);
          s = fma(vec4<f32>(ar[r].z), bk[4u + v], s);
          s = fma(vec4<f32>(ar[r].w), bk[6u + v], s);
          acc[2u * r + v] = s;
        }
      }
    }
    for (; k < p.K; k++) {
      var bv: array<vec4<f32>, 2>;
      for (var v = 0u; v < nv; v++) {
        let c = 4u * v;
        bv[v] = vec4<f32>(load_b1(o.y + idx_b(k, nc[c])), load_b1(o.y + idx_b(k, nc[c + 1u])), load_b1(o.y + idx_b(k, nc[c + 2u])), load_b1(o.y + idx_b(k, nc[c + 3u])));
      }
      for (var r = 0u; r < TM; r++) {
        let av = vec4<f32>(load_a1(o.x + idx_a(mc[r], k)));
        for (var v = 0u; v < nv; v++) { acc[2u * r + v] = fma(av, bv[v], acc[2u * r + v]); }
      }
    }
  }
  for (var r = 0u; r < TM; r++) {
    for (var v = 0u; v < nv; v++) { store_row(z, m0 + r, n0 + 4u * v, acc[2u * r + v]); }
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn workgroup_tiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let bm = 4u * WG_Y;
  let bn = 4u * WG_X;
  let m_tile = (wid.y + p.row0) * bm;
  let n_tile = wid.x * bn;
  let z = wid.z + p.batch0;
  let zo = batch_offsets(z, p.out_shape, p.out_sa, p.out_sb);
  let tid = lid.y * WG_X + lid.x;
  let threads = WG_X * WG_Y;
  var acc: array<vec4<f32>, 4>;
  for (var r = 0u; r < 4u; r++) { acc[r] = vec4<f32>(0.0); }
  for (var red = 0u; red < p.red_count; red++) {
    let o = zo + batch_offsets(red, p.red_shape, p.red_sa, p.red_sb);
    for (var k0 = 0u; k0 < p.K; k0 += BK) {
      // Stage A(m_tile .. + bm, k0 .. + BK) as tile_a[kk · WG_Y + i] = rows 4i .. 4i + 3 at k0 + kk.
      // Consecutive invocations walk the stored operand's contiguous dimension (coalesced reads).
      for (var e = tid; e < bm * BK; e += threads) {
        var mm: u32;
        var kk: u32;
        if (TRANS_A == 0u) { mm = e / BK; kk = e % BK; } else { kk = e / bm; mm = e % bm; }
        let m = m_tile + mm;
        let k = k0 + kk;
        var v = 0.0;
        if (m < p.M && k < p.K) { v = load_a1(o.x + idx_a(m, k)); }
        tile_a[kk * WG_Y + mm / 4u][mm % 4u] = v;
      }
      for (var e = tid; e < bn * BK; e += threads) {
        var nn: u32;
        var kk: u32;
        if (TRANS_B == 0u) { kk = e / bn; nn = e % bn; } else { nn = e / BK; kk = e % BK; }
        let n = n_tile + nn;
        let k = k0 + kk;
        var v = 0.0;
        if (n < p.N && k < p.K) { v = load_b1(o.y + idx_b(k, n)); }
        tile_b[kk * WG_X + nn / 4u][nn % 4u] = v;
      }
      workgroupBarrier();
      for (var kk = 0u; kk < BK; kk++) {
        let av = tile_a[kk * WG_Y + lid.y];
        let bv = tile_b[kk * WG_X + lid.x];
        for (var r = 0u; r < 4u; r++) { acc[r] = fma(vec4<f32>(av[r]), bv, acc[r]); }
      }
      workgroupBarrier();
    }
  }
  for (var r = 0u; r < 4u; r++) { store_row(z, m_tile + 4u * lid.y + r, n_tile + 4u * lid.x, acc[r]); }
}

// register_named: register_blocked's 4×4 case with the block held in named vec4s and matrices
// instead of private arrays. SwiftShader keeps private arrays in memory (its 4×4 array kernel ran
// 4.7× slower than this form at 256³), while llvmpipe runs the array form faster; the autotune
// picks per adapter. Same operand conventions, edge clamping and batch/reduction dimensions.
@compute @workgroup_size(WG_X, WG_Y)
fn register_named(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = (gid.y + p.row0 * WG_Y) * 4u;
  if (n0 >= p.N || m0 >= p.M) { return; }
  let z = gid.z + p.batch0;
  let zo = batch_offsets(z, p.out_shape, p.out_sa, p.out_sb);
  let mc = min(vec4<u32>(m0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.M - 1u));
  let nc = min(vec4<u32>(n0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.N - 1u));
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let k4 = p.K & ~3u;
  for (var red = 0u; red < p.red_count; red++) {
    let o = zo + batch_offsets(red, p.red_shape, p.red_sa, p.red_sb);
    var k = 0u;
    for (; k < k4; k += 4u) {
      // bm[j] = B(k + j, n0 .. n0 + 3); am[r] = A(m0 + r, k .. k + 3).
      var bm: mat4x4<f32>;
      if (TRANS_B == 0u) {
        bm = mat4x4<f32>(load_b4(o.y + k * p.N + n0), load_b4(o.y + (k + 1u) * p.N + n0),
                         load_b4(o.y + (k + 2u) * p.N + n0), load_b4(o.y + (k + 3u) * p.N + n0));
      } else {
        bm = transpose(mat4x4<f32>(load_b4(o.y + nc.x * p.K + k), load_b4(o.y + nc.y * p.K + k),
                                   load_b4(o.y + nc.z * p.K + k), load_b4(o.y + nc.w * p.K + k)));
      }
      var am: mat4x4<f32>;
      if (TRANS_A == 0u) {
        am = mat4x4<f32>(load_a4(o.x + mc.x * p.K + k), load_a4(o.x + mc.y * p.K + k),
                         load_a4(o.x + mc.z * p.K + k), load_a4(o.x + mc.w * p.K + k));
      } else {
        am = transpose(mat4x4<f32>(load_a4(o.x + k * p.M + m0), load_a4(o.x + (k + 1u) * p.M + m0),
                                   load_a4(o.x + (k + 2u) * p.M + m0), load_a4(o.x + (k + 3u) * p.M + m0)));
      }
      // Row r of the block gains Σ_j A(m0 + r, k + j) · B(k + j, ·) = bm · am[r].
      acc0 += bm * am[0];
      acc1 += bm * am[1];
      acc2 += bm * am[2];
      acc3 += bm * am[3];
    }
    for (; k < p.K; k++) {
      let bv = vec4<f32>(load_b1(o.y + idx_b(k, nc.x)), load_b1(o.y + idx_b(k, nc.y)), load_b1(o.y + idx_b(k, nc.z)), load_b1(o.y + idx_b(k, nc.w)));
      acc0 = fma(vec4<f32>(load_a1(o.x + idx_a(mc.x, k))), bv, acc0);
      acc1 = fma(vec4<f32>(load_a1(o.x + idx_a(mc.y, k))), bv, acc1);
      acc2 = fma(vec4<f32>(load_a1(o.x + idx_a(mc.z, k))), bv, acc2);
      acc3 = fma(vec4<f32>(load_a1(o.x + idx_a(mc.w, k))), bv, acc3);
    }
  }
  store_row(z, m0, n0, acc0);
  store_row(z, m0 + 1u, n0, acc1);
  store_row(z, m0 + 2u, n0, acc2);
  store_row(z, m0 + 3u, n0, acc3);
}
