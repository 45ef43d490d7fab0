// Fused gated depthwise 3×3 convolution of Restormer's GDFN ("DGNet"). x holds 2·Hd channels;
// channel c and channel Hd + c each go through their own depthwise 3×3 (zero padding 1, optional
// bias), giving y1 and y2, and the output is GELU(y1) ⊙ y2 (exact erf GELU). y is never stored:
// the backward recomputes it, which costs one more read of x instead of a write and a read of y.
//
// Work unit ("tile"): TW = 4 neighbouring outputs of one row of one channel, so one 3×6 input
// window serves four outputs; tiles of a row are consecutive invocations (contiguous reads).
//   forward:               out = GELU(y1) ⊙ y2                                  per tile
//   backward_gates:        gy = dL/dy for both halves (needs y1, y2 recomputed)  per tile
//   backward_input_params: dx = depthwise transposed conv of gy, and per-workgroup partial sums
//                          of dweight (9 taps) and dbias over its share of the B·H·W pixels
//   reduce_params:         dweight, dbias = sums of the partials (no atomics, fixed order)
// #include "lib/normal_cdf.wgsl"
struct Params {
  hidden: u32,          // Hd (output channels); x has 2·Hd
  channels: u32,        // channels of the launch: Hd (forward, gates) or 2·Hd (input/params)
  h: u32,
  w: u32,
  tiles_w: u32,         // ceil(w / TW)
  tiles: u32,           // tiles of the launch
  stride: u32,          // x extent of the 1-D grid, in invocations
  has_bias: u32,
  channel_tiles: u32,   // tiles of one channel over the batch: B·h·tiles_w
  chunk_tiles: u32,     // tiles of one channel handled by one workgroup of backward_input_params
  chunks: u32,          // workgroups per channel in backward_input_params
  pad0: u32,
}
override NEED_PARAMS: u32 = 1u;
const TW: u32 = 4u;
const WG: u32 = 256u; // = @workgroup_size of forward, backward_gates, backward_input_params

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> gy: array<f32>;
@group(0) @binding(6) var<storage, read> gy_in: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;
@group(0) @binding(8) var<storage, read_write> partials: array<f32>;
@group(0) @binding(9) var<storage, read> partials_in: array<f32>;
@group(0) @binding(10) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(11) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(12) var<uniform> p: Params;

// Position of a tile: channel-major plane index (b·channels + c), row, first column.
struct Tile { plane: u32, row: u32, col: u32 }

fn tile_at(i: u32) -> Tile {
  let r = i / p.tiles_w;
  return Tile(r / p.h, r % p.h, (i % p.tiles_w) * TW);
}

// Six values of row `row` of the plane at `base`, columns col − 1 … col + 4, zero outside the
// image. Reads go to clamped in-plane addresses and are masked, so lanes do not branch.
fn window_index(base: u32, row: i32, c: i32) -> u32 {
  return base + u32(clamp(row, 0, i32(p.h) - 1)) * p.w + u32(clamp(c, 0, i32(p.w) - 1));
}

fn in_image(row: i32, c: i32) -> bool {
  return row >= 0 && row < i32(p.h) && c >= 0 && c < i32(p.w);
}

fn x_row(base: u32, row: i32, col: u32) -> array<f32, 6> {
  var v: array<f32, 6>;
  for (var k = 0; k < 6; k++) {
    let c = i32(col) - 1 + k;
    v[k] = select(0.0, x[window_index(base, row, c)], in_image(row, c));
  }
  return v;
}

fn gy_row(base: u32, row: i32, col: u32) -> array<f32, 6> {
  var v: array<f32, 6>;
  for (var k = 0; k < 6; k++) {
    let c = i32(col) - 1 + k;
    v[k] = select(0.0, gy_in[window_index(base, row, c)], in_image(row, c));
  }
  return v;
}

// Σ_j k[j] · v[t + j] for the four outputs t of a tile: one row of a 3×3 convolution.
fn row_conv(v: array<f32, 6>, k: vec3<f32>) -> vec4<f32> {
  return k.x * vec4<f32>(v[0], v[1], v[2], v[3]) + k.y * vec4<f32>(v[1], v[2], v[3], v[4]) + k.z * vec4<f32>(v[2], v[3], v[4], v[5]);
}

// Σ_t g[t] · v[t + j] for j = 0, 1, 2: one row of the weight gradient.
fn row_corr(g: vec4<f32>, v: array<f32, 6>) -> vec3<f32> {
  return vec3<f32>(dot(g, vec4<f32>(v[0], v[1], v[2], v[3])), dot(g, vec4<f32>(v[1], v[2], v[3], v[4])), dot(g, vec4<f32>(v[2], v[3], v[4], v[5])));
}

fn weight_row(ch: u32, kh: u32) -> vec3<f32> {
  let o = ch * 9u + kh * 3u;
  return vec3<f32>(weight[o], weight[o + 1u], weight[o + 2u]);
}

// Depthwise 3×3 of channel `ch` of x at four outputs of a tile (bias included).
fn dwconv4(ch: u32, b: u32, t: Tile) -> vec4<f32> {
  let base = (b * 2u * p.hidden + ch) * p.h * p.w;
  let r = i32(t.row);
  var acc = row_conv(x_row(base, r - 1, t.col), weight_row(ch, 0u)) + row_conv(x_row(base, r, t.col), weight_row(ch, 1u)) +
            row_conv(x_row(base, r + 1, t.col), weight_row(ch, 2u));
  if (p.has_bias == 1u) { acc += vec4<f32>(bias[ch]); }
  return acc;
}

// Writes the first `w − col` (at most 4) lanes of v at `at`.
fn store_out(at: u32, col: u32, v: vec4<f32>) {
  for (var k = 0u; k < TW; k++) { if (col + k < p.w) { out[at + k] = v[k]; } }
}

fn store_gy(at: u32, col: u32, v: vec4<f32>) {
  for (var k = 0u; k < TW; k++) { if (col + k < p.w) { gy[at + k] = v[k]; } }
}

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.tiles) { return; }
  let t = tile_at(i);
  let b = t.plane / p.hidden;
  let c = t.plane % p.hidden;
  let y1 = dwconv4(c, b, t);
  let y2 = dwconv4(c + p.hidden, b, t);
  store_out((t.plane * p.h + t.row) * p.w + t.col, t.col, y1 * normal_cdf(y1) * y2);
}

// gy1 = dy ⊙ y2 ⊙ GELU'(y1), gy2 = dy ⊙ GELU(y1), with GELU'(v) = Φ(v) + v·φ(v).
@compute @workgroup_size(256)
fn backward_gates(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.tiles) { return; }
  let t = tile_at(i);
  let b = t.plane / p.hidden;
  let c = t.plane % p.hidden;
  let y1 = dwconv4(c, b, t);
  let y2 = dwconv4(c + p.hidden, b, t);
  let at = (t.plane * p.h + t.row) * p.w + t.col;
  var g = vec4<f32>(0.0);
  for (var k = 0u; k < TW; k++) { if (t.col + k < p.w) { g[k] = dy[at + k]; } }
  let cdf = normal_cdf(y1);
  let d_gelu = cdf + y1 * normal_pdf(y1);
  let plane_size = p.h * p.w;
  let at1 = ((b * 2u * p.hidden + c) * p.h + t.row) * p.w + t.col;
  store_gy(at1, t.col, g * y2 * d_gelu);
  store_gy(at1 + p.hidden * plane_size, t.col, g * y1 * cdf);
}

var<workgroup> red: array<vec4<f32>, 768>; // 3 × WG: taps 0–3, taps 4–7, (tap 8, bias, 0, 0)

// One workgroup per (channel, chunk of that channel's tiles over the batch). Each invocation
// writes dx for its tiles and keeps running sums of the weight/bias gradient, reduced in the
// workgroup and written as one partial per workgroup.
//   dx[h, w]      = Σ_{kh,kw} gy[h + 1 − kh, w + 1 − kw] · weight[kh, kw]
//   dweight[kh,kw] = Σ_{b,h,w} gy[h, w] · x[h + kh − 1, w + kw − 1],  dbias = Σ gy
// (gy is zero outside the image, and each x pixel pairs with its gy neighbours once.)
@compute @workgroup_size(256)
fn backward_input_params(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let ch = wid.x;
  let chunk = wid.y;
  let first = chunk * p.chunk_tiles;
  let last = min(first + p.chunk_tiles, p.channel_tiles);
  // Taps reversed: dx = Σ_kh row_conv(gy row h + 1 − kh, reversed weight row kh).
  let k0 = weight_row(ch, 0u).zyx;
  let k1 = weight_row(ch, 1u).zyx;
  let k2 = weight_row(ch, 2u).zyx;
  var taps0 = vec4<f32>(0.0); // dweight row 0, dbias
  var taps1 = vec3<f32>(0.0);
  var taps2 = vec3<f32>(0.0);
  for (var j = first + lid; j < last; j += WG) {
    let rr = j / p.tiles_w;
    let row = rr % p.h;
    let col = (j % p.tiles_w) * TW;
    let base = ((rr / p.h) * p.channels + ch) * p.h * p.w;
    let r = i32(row);
    let g0 = gy_row(base, r - 1, col);
    let g1 = gy_row(base, r, col);
    let g2 = gy_row(base, r + 1, col);
    let dxv = row_conv(g0, k2) + row_conv(g1, k1) + row_conv(g2, k0);
    let at = base + row * p.w + col;
    for (var k = 0u; k < TW; k++) { if (col + k < p.w) { dx[at + k] = dxv[k]; } }
    if (NEED_PARAMS == 1u) {
      // Pairs (x at this tile, gy at its neighbours) instead of (gy here, x around), so the
      // gy rows already loaded serve: dweight[kh, kw] += Σ_t x[h, w+t] · gy[h+1−kh, w+t+1−kw].
      var xc = vec4<f32>(0.0);
      for (var k = 0u; k < TW; k++) { if (col + k < p.w) { xc[k] = x[at + k]; } }
      taps0 += vec4<f32>(row_corr(xc, g2).zyx, g1[1] + g1[2] + g1[3] + g1[4]);
      taps1 += row_corr(xc, g1).zyx;
      taps2 += row_corr(xc, g0).zyx;
    }
  }
  if (NEED_PARAMS == 0u) { return; }
  red[lid] = vec4<f32>(taps0.xyz, taps1.x);
  red[WG + lid] = vec4<f32>(taps1.yz, taps2.xy);
  red[2u * WG + lid] = vec4<f32>(taps2.z, taps0.w, 0.0, 0.0);
  workgroupBarrier();
  for (var st = WG / 2u; st > 0u; st = st / 2u) {
    if (lid < st) {
      red[lid] += red[lid + st];
      red[WG + lid] += red[WG + lid + st];
      red[2u * WG + lid] += red[2u * WG + lid + st];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let o = (ch * p.chunks + chunk) * 10u;
    let a = red[0];
    let c = red[WG];
    let d = red[2u * WG];
    partials[o] = a.x; partials[o + 1u] = a.y; partials[o + 2u] = a.z; partials[o + 3u] = a.w;
    partials[o + 4u] = c.x; partials[o + 5u] = c.y; partials[o + 6u] = c.z; partials[o + 7u] = c.w;
    partials[o + 8u] = d.x; partials[o + 9u] = d.y;
  }
}

// One invocation per (channel, value) with value 0–8 the taps and 9 the bias.
@compute @workgroup_size(64)
fn reduce_params(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.channels * 10u) { return; }
  let ch = i / 10u;
  let k = i % 10u;
  var s = 0.0;
  for (var j = 0u; j < p.chunks; j++) { s += partials_in[(ch * p.chunks + j) * 10u + k]; }
  if (k < 9u) { dweight[ch * 9u + k] = s; } else if (p.has_bias == 1u) { dbias[ch] = s; }
}
