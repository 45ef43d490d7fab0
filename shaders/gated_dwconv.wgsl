// Fused gated depthwise 3×3 convolution of Restormer's GDFN ("DGNet"). x holds 2·Hd channels;
// channel c and channel Hd + c each go through their own depthwise 3×3 (zero padding 1, optional
// bias), giving y1 and y2, and the output is GELU(y1) ⊙ y2 (exact erf GELU). y is never stored:
// the backward recomputes it, which costs one more read of x instead of a write and a read of y.
//
// Work unit ("strip"): TW = 4 neighbouring columns of one channel plane, walked down strip_rows
// rows. The three input rows a 3×3 window needs slide along (one new row per output row), and a
// row of six values (columns col − 1 … col + 4) is three vec4 loads when w % 4 == 0 (ALIGNED): on
// CPU adapters every storage access instruction costs about as much as one value, so this reads
// 3 instead of 18 per output row and channel. Neighbouring invocations take neighbouring strips.
//   forward:               out = GELU(y1) ⊙ y2                                  per strip of Hd
//   backward_gates:        gy = dL/dy for both halves (needs y1, y2 recomputed)  per strip of Hd
//   backward_input_params: dx = depthwise transposed conv of gy, and per-invocation partial sums
//                          of dweight (9 taps) and dbias over its strip          per strip of 2·Hd
//   reduce_params:         dweight, dbias = sums of the partials (no atomics, fixed order)
// No kernel has a workgroup reduction: barriers cost more than the sums on CPU adapters.
// #include "lib/normal_cdf.wgsl"
// #include "lib/hsum.wgsl"
struct Params {
  hidden: u32,          // Hd (output channels); x has 2·Hd
  channels: u32,        // planes per image of the launch: Hd (forward, gates) or 2·Hd (input/params)
  h: u32,
  w: u32,
  tiles_w: u32,         // ceil(w / TW)
  strips: u32,          // strips down one plane column
  strip_rows: u32,      // rows per strip
  invocations: u32,     // channels · B · strips · tiles_w
  stride: u32,          // x extent of the 1-D grid, in invocations
  has_bias: u32,
  per_channel: u32,     // invocations (partial sums) per channel: B · strips · tiles_w
  batch: u32,
}
override NEED_PARAMS: bool = true;
// w % 4 == 0: every strip's row is one aligned vec4 (else values are read and written one by one).
override ALIGNED: bool = false;
const TW: u32 = 4u;

@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> gy4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> gy_in4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dx4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> partials: array<f32>;
@group(0) @binding(9) var<storage, read> partials_in: array<f32>;
@group(0) @binding(10) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(11) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(12) var<uniform> p: Params;

// A strip: a plane (launch-specific index), rows [row0, row1), first column col.
struct Strip { plane: u32, row0: u32, row1: u32, col: u32 }

fn strip_at(i: u32) -> Strip {
  let rest = i / p.tiles_w;
  let row0 = (rest % p.strips) * p.strip_rows;
  return Strip(rest / p.strips, row0, min(row0 + p.strip_rows, p.h), (i % p.tiles_w) * TW);
}

// Six values of one row: columns col − 1 (l), col … col + 3 (m), col + 4 (r); zero outside the image.
struct Row6 { l: f32, m: vec4<f32>, r: f32 }

// Where the row window of (plane start, row, col) lies: the vec4 holding column col, the offset of
// col inside it, and which values are in the image.
struct RowAt { vec: u32, shift: u32, l_ok: bool, m_ok: vec4<bool>, r_ok: bool }

fn row_at(plane_at: u32, row: i32, col: u32) -> RowAt {
  let row_ok = row >= 0 && row < i32(p.h);
  let at = plane_at + u32(clamp(row, 0, i32(p.h) - 1)) * p.w + col;
  let m_ok = (vec4<u32>(col) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.w)) & vec4<bool>(row_ok);
  return RowAt(at / 4u, select(at % 4u, 0u, ALIGNED), row_ok && col > 0u, m_ok, row_ok && col + 4u < p.w);
}

// The row window from the vec4s before (a), holding (b) and after (c) column col.
fn row6(a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, at: RowAt) -> Row6 {
  var v: Row6;
  switch at.shift {
    case 0u: { v = Row6(a.w, b, c.x); }
    case 1u: { v = Row6(b.x, vec4<f32>(b.yzw, c.x), c.y); }
    case 2u: { v = Row6(b.y, vec4<f32>(b.zw, c.xy), c.z); }
    default: { v = Row6(b.z, vec4<f32>(b.w, c.xyz), c.w); }
  }
  return Row6(select(0.0, v.l, at.l_ok), select(vec4<f32>(0.0), v.m, at.m_ok), select(0.0, v.r, at.r_ok));
}

fn x_row(at: RowAt) -> Row6 {
  let last = arrayLength(&x4) - 1u;
  return row6(x4[max(at.vec, 1u) - 1u], x4[at.vec], x4[min(at.vec + 1u, last)], at);
}

fn gy_row(at: RowAt) -> Row6 {
  let last = arrayLength(&gy_in4) - 1u;
  return row6(gy_in4[max(at.vec, 1u) - 1u], gy_in4[at.vec], gy_in4[min(at.vec + 1u, last)], at);
}

// Σ_j k[j] · v[t + j] for the four outputs t: one row of a 3×3 convolution.
fn row_conv(v: Row6, k: vec3<f32>) -> vec4<f32> {
  return k.x * vec4<f32>(v.l, v.m.xyz) + k.y * v.m + k.z * vec4<f32>(v.m.yzw, v.r);
}

// Σ_t g[t] · v[t + j] for j = 0, 1, 2: one row of the weight gradient.
fn row_corr(g: vec4<f32>, v: Row6) -> vec3<f32> {
  return vec3<f32>(dot(g, vec4<f32>(v.l, v.m.xyz)), dot(g, v.m), dot(g, vec4<f32>(v.m.yzw, v.r)));
}

struct Taps { k0: vec3<f32>, k1: vec3<f32>, k2: vec3<f32> }

fn taps_of(ch: u32) -> Taps {
  let o = ch * 9u;
  return Taps(vec3<f32>(weight[o], weight[o + 1u], weight[o + 2u]), vec3<f32>(weight[o + 3u], weight[o + 4u], weight[o + 5u]),
              vec3<f32>(weight[o + 6u], weight[o + 7u], weight[o + 8u]));
}

fn bias_of(ch: u32) -> f32 {
  if (p.has_bias == 1u) { return bias[ch]; }
  return 0.0;
}

// Depthwise 3×3 at four outputs of row r from rows r − 1, r, r + 1 (bias included).
fn conv3(up: Row6, mid: Row6, down: Row6, k: Taps, b: f32) -> vec4<f32> {
  return row_conv(up, k.k0) + row_conv(mid, k.k1) + row_conv(down, k.k2) + vec4<f32>(b);
}

// Stores of four values at element `at` (columns col … col + 3, those < w).
fn store_out(at: u32, col: u32, v: vec4<f32>) {
  if (ALIGNED) { out4[at / 4u] = v; return; }
  for (var k = 0u; k < TW; k++) { if (col + k < p.w) { out4[(at + k) / 4u][(at + k) % 4u] = v[k]; } }
}

fn store_gy(at: u32, col: u32, v: vec4<f32>) {
  if (ALIGNED) { gy4[at / 4u] = v; return; }
  for (var k = 0u; k < TW; k++) { if (col + k < p.w) { gy4[(at + k) / 4u][(at + k) % 4u] = v[k]; } }
}

fn store_dx(at: u32, col: u32, v: vec4<f32>) {
  if (ALIGNED) { dx4[at / 4u] = v; return; }
  for (var k = 0u; k < TW; k++) { if (col + k < p.w) { dx4[(at + k) / 4u][(at + k) % 4u] = v[k]; } }
}

fn dy_at(at: u32, col: u32) -> vec4<f32> {
  if (ALIGNED) { return dy4[at / 4u]; }
  var g = vec4<f32>(0.0);
  for (var k = 0u; k < TW; k++) { if (col + k < p.w) { g[k] = dy4[(at + k) / 4u][(at + k) % 4u]; } }
  return g;
}

// The two halves' planes of output plane (b, c) of the Hd-channel launches, and their taps.
struct Pair { x1: u32, x2: u32, out: u32, k1: Taps, k2: Taps, b1: f32, b2: f32 }

fn pair_of(plane: u32) -> Pair {
  let c = plane % p.hidden;
  let hw = p.h * p.w;
  let x1 = ((plane / p.hidden) * 2u * p.hidden + c) * hw;
  return Pair(x1, x1 + p.hidden * hw, plane * hw, taps_of(c), taps_of(c + p.hidden), bias_of(c), bias_of(c + p.hidden));
}

// The rows r − 1 and r of both halves' windows, sliding down a strip.
struct PairWalk { up1: Row6, mid1: Row6, up2: Row6, mid2: Row6 }
struct PairY { y1: vec4<f32>, y2: vec4<f32> }

fn walk_start(q: Pair, s: Strip) -> PairWalk {
  let r0 = i32(s.row0);
  return PairWalk(x_row(row_at(q.x1, r0 - 1, s.col)), x_row(row_at(q.x1, r0, s.col)), x_row(row_at(q.x2, r0 - 1, s.col)), x_row(row_at(q.x2, r0, s.col)));
}

// y1, y2 at row r (the walk's row), then the windows move down one row.
fn walk_next(w: ptr<function, PairWalk>, q: Pair, r: u32, col: u32) -> PairY {
  let down1 = x_row(row_at(q.x1, i32(r) + 1, col));
  let down2 = x_row(row_at(q.x2, i32(r) + 1, col));
  let y = PairY(conv3((*w).up1, (*w).mid1, down1, q.k1, q.b1), conv3((*w).up2, (*w).mid2, down2, q.k2, q.b2));
  *w = PairWalk((*w).mid1, down1, (*w).mid2, down2);
  return y;
}

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.invocations) { return; }
  let s = strip_at(i);
  let q = pair_of(s.plane);
  var w = walk_start(q, s);
  for (var r = s.row0; r < s.row1; r++) {
    let y = walk_next(&w, q, r, s.col);
    store_out(q.out + r * p.w + s.col, s.col, y.y1 * normal_cdf(y.y1) * y.y2);
  }
}

// gy1 = dy ⊙ y2 ⊙ GELU'(y1), gy2 = dy ⊙ GELU(y1), with GELU'(v) = Φ(v) + v·φ(v).
@compute @workgroup_size(64)
fn backward_gates(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.invocations) { return; }
  let s = strip_at(i);
  let q = pair_of(s.plane);
  var w = walk_start(q, s);
  for (var r = s.row0; r < s.row1; r++) {
    let y = walk_next(&w, q, r, s.col);
    let row = r * p.w + s.col;
    let g = dy_at(q.out + row, s.col);
    let cdf = normal_cdf(y.y1);
    let d_gelu = cdf + y.y1 * normal_pdf(y.y1);
    store_gy(q.x1 + row, s.col, g * y.y2 * d_gelu);
    store_gy(q.x2 + row, s.col, g * y.y1 * cdf);
  }
}

// One invocation per strip of one of the 2·Hd channels: dx for the strip, and its share of the
// weight/bias gradient written as one partial (10 values) per invocation.
//   dx[h, w]       = Σ_{kh,kw} gy[h + 1 − kh, w + 1 − kw] · weight[kh, kw]
//   dweight[kh,kw] = Σ_{b,h,w} gy[h, w] · x[h + kh − 1, w + kw − 1],  dbias = Σ gy
// The weight gradient pairs x at row h with the gy rows h − 1 … h + 1 already loaded for dx:
// dweight[kh, kw] += Σ_t x[h, w+t] · gy[h+1−kh, w+t+1−kw] (gy is zero outside the image).
@compute @workgroup_size(64)
fn backward_input_params(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.invocations) { return; }
  let s = strip_at(i);
  // Planes channel-major (ch·B + b), so the partials of a channel are consecutive.
  let ch = s.plane / p.batch;
  let base = ((s.plane % p.batch) * p.channels + ch) * p.h * p.w;
  let k = taps_of(ch);
  // Taps reversed: dx row r = row_conv(gy r − 1, reversed k2) + row_conv(gy r, k1ᵣ) + row_conv(gy r + 1, k0ᵣ).
  let kt = Taps(k.k2.zyx, k.k1.zyx, k.k0.zyx);
  var taps0 = vec4<f32>(0.0); // dweight row 0, dbias
  var taps1 = vec3<f32>(0.0);
  var taps2 = vec3<f32>(0.0);
  let r0 = i32(s.row0);
  var up = gy_row(row_at(base, r0 - 1, s.col));
  var mid = gy_row(row_at(base, r0, s.col));
  for (var r = s.row0; r < s.row1; r++) {
    let down_at = row_at(base, i32(r) + 1, s.col);
    let down = gy_row(down_at);
    store_dx(base + r * p.w + s.col, s.col, conv3(up, mid, down, kt, 0.0));
    if (NEED_PARAMS) {
      let xc = x_row(row_at(base, i32(r), s.col)).m;
      taps0 += vec4<f32>(row_corr(xc, down).zyx, hsum(mid.m));
      taps1 += row_corr(xc, mid).zyx;
      taps2 += row_corr(xc, up).zyx;
    }
    up = mid; mid = down;
  }
  if (!NEED_PARAMS) { return; }
  let o = i * 10u; // = (ch · per_channel + j) · 10
  partials[o] = taps0.x; partials[o + 1u] = taps0.y; partials[o + 2u] = taps0.z;
  partials[o + 3u] = taps1.x; partials[o + 4u] = taps1.y; partials[o + 5u] = taps1.z;
  partials[o + 6u] = taps2.x; partials[o + 7u] = taps2.y; partials[o + 8u] = taps2.z;
  partials[o + 9u] = taps0.w;
}

// One invocation per (channel, value) with value 0–8 the taps and 9 the bias.
@compute @workgroup_size(64)
fn reduce_params(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.channels * 10u) { return; }
  let ch = i / 10u;
  let k = i % 10u;
  var s = 0.0;
  for (var j = 0u; j < p.per_channel; j++) { s += partials_in[(ch * p.per_channel + j) * 10u + k]; }
  if (k < 9u) { dweight[ch * 9u + k] = s; } else if (p.has_bias == 1u) { dbias[ch] = s; }
}
