// Depthwise 2-D convolution at stride 1 (groups = Ci = Co) over NCHW: forward, grad input (the
// same kernels with the taps rotated) and grad weight; the general kernels are in conv2d.wgsl.
// #include "lib/conv2d_common.wgsl"

override RT: u32 = 4u;  // depthwise: output rows per invocation
override FLIP: u32 = 0u; // depthwise: 1 = taps rotated 180° (grad input as a convolution of dy)
const MAX_RT: u32 = 8u;
const MAX_TAPS: u32 = 49u; // depthwise: KH·KW
override WG: u32 = 64u; // reduction workgroup size (power of two <= MAX_WG): small when there are few positions

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> dw: array<f32>;
@group(0) @binding(8) var<uniform> p: ConvParams;

// Depthwise convolution at stride 1 (groups = Ci = Co): each invocation computes an RT × 4 output
// tile of one plane, so each loaded input row serves up to KH output rows and every tap 4 columns.
// Tiles of all planes are numbered consecutively (no idle invocations at plane edges). The same
// entries compute the grad input of a stride-1 depthwise convolution: bound as x = dy, y = dx with
// FLIP = 1 and padding KH − 1 − ph, KW − 1 − pw, it is the convolution of dy with the rotated taps.
// gid: (plane, row tile, column tile) flattened over x and y (wg_stride = invocations per y step).
// `depthwise_vec4` (input and output widths multiples of 4) reads rows and writes outputs as vec4s.
struct DepthwiseTile { plane: u32, oh0: u32, ow0: u32, taps: array<f32, MAX_TAPS> }

@group(0) @binding(11) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read_write> y4: array<vec4<f32>>;

// The tile of invocation t and its channel's taps; plane = batch · C marks t past the end.
fn depthwise_tile(t: u32) -> DepthwiseTile {
  var d: DepthwiseTile;
  let tiles_h = (p.ho + RT - 1u) / RT;
  let per_plane = tiles_h * p.tiles_w;
  d.plane = min(t / per_plane, p.batch * p.cout);
  let rem = t - d.plane * per_plane;
  d.oh0 = (rem / p.tiles_w) * RT;
  d.ow0 = (rem % p.tiles_w) * 4u;
  let c = d.plane % p.cout;
  let ntaps = KH * KW;
  for (var i = 0u; i < ntaps; i++) {
    d.taps[i] = weight[min(c * ntaps + select(i, ntaps - 1u - i, FLIP != 0u), arrayLength(&weight) - 1u)];
  }
  return d;
}

// Adds input row r of the tile (window win[i] = x[ow0 − pw + i]) to the output rows it reaches:
// output row o = r − kh through tap row kh.
fn depthwise_row(acc: ptr<function, array<vec4<f32>, MAX_RT>>, d: ptr<function, DepthwiseTile>, r: u32, win: ptr<function, array<f32, MAX_WIN>>) {
  for (var kh = 0u; kh < KH; kh++) {
    if (r < kh || r - kh >= RT) { continue; }
    for (var kw = 0u; kw < KW; kw++) {
      (*acc)[r - kh] += vec4<f32>((*win)[kw], (*win)[kw + 1u], (*win)[kw + 2u], (*win)[kw + 3u]) * (*d).taps[kh * KW + kw];
    }
  }
}

fn depthwise_bias(plane: u32) -> f32 {
  return select(0.0, bias[min(plane % p.cout, arrayLength(&bias) - 1u)], p.has_bias != 0u);
}

@compute @workgroup_size(64)
fn depthwise(@builtin(global_invocation_id) gid: vec3<u32>) {
  var d = depthwise_tile(gid.x + gid.y * p.wg_stride);
  if (d.plane >= p.batch * p.cout) { return; }
  var acc: array<vec4<f32>, MAX_RT>;
  for (var o = 0u; o < RT; o++) { acc[o] = vec4<f32>(0.0); }
  let iw0 = i32(d.ow0) - i32(p.pad_w);
  let ih0 = i32(d.oh0) - i32(p.pad_h);
  let xplane = d.plane * p.h * p.w;
  for (var r = 0u; r < RT + KH - 1u; r++) {
    let ih = ih0 + i32(r);
    if (ih < 0 || ih >= i32(p.h)) { continue; }
    let xrow = xplane + u32(ih) * p.w;
    var win: array<f32, MAX_WIN>;
    for (var i = 0u; i < KW + 3u; i++) { win[i] = conv_load_x(xrow, iw0 + i32(i), p.w); }
    depthwise_row(&acc, &d, r, &win);
  }
  let b = depthwise_bias(d.plane);
  for (var o = 0u; o < RT; o++) {
    let oh = d.oh0 + o;
    if (oh >= p.ho) { continue; }
    let base = (d.plane * p.ho + oh) * p.wo;
    for (var j = 0u; j < 4u; j++) {
      if (d.ow0 + j < p.wo) { y[base + d.ow0 + j] = acc[o][j] + b; }
    }
  }
}

// Widths are multiples of 4, so a row window is whole aligned vec4s: the window starts PW_MOD
// values into chunk ⌊(ow0 − pw) / 4⌋ (PW_MOD = (−pw) mod 4, an override so indices stay constant);
// chunks outside the row are the zero padding.
override PW_MOD: u32 = 3u;
const DW_CHUNKS: u32 = 4u; // covers PW_MOD + KW + 3 ≤ 16 values

// The window win[i] = x[ow0 − pw + i] (i < KW + 3) of the row of x4 starting at xrow4, from its
// aligned vec4 chunks chunk0, chunk0 + 1, … (w4 chunks per row; the others are zero padding).
fn depthwise_window4(xrow4: u32, w4: u32, chunk0: i32) -> array<f32, MAX_WIN> {
  let nchunks = (PW_MOD + KW + 6u) / 4u;
  var vals: array<f32, 16>;
  for (var j = 0u; j < DW_CHUNKS; j++) {
    if (j >= nchunks) { break; }
    let cj = chunk0 + i32(j);
    let v = select(vec4<f32>(0.0), x4[xrow4 + u32(clamp(cj, 0, i32(w4) - 1))], cj >= 0 && cj < i32(w4));
    vals[4u * j] = v.x;
    vals[4u * j + 1u] = v.y;
    vals[4u * j + 2u] = v.z;
    vals[4u * j + 3u] = v.w;
  }
  var win: array<f32, MAX_WIN>;
  for (var i = 0u; i < KW + 3u; i++) { win[i] = vals[PW_MOD + i]; }
  return win;
}

@compute @workgroup_size(64)
fn depthwise_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
  var d = depthwise_tile(gid.x + gid.y * p.wg_stride);
  if (d.plane >= p.batch * p.cout) { return; }
  var acc: array<vec4<f32>, MAX_RT>;
  for (var o = 0u; o < RT; o++) { acc[o] = vec4<f32>(0.0); }
  let w4 = p.w / 4u;
  let chunk0 = (i32(d.ow0) - i32(p.pad_w) - i32(PW_MOD)) / 4; // exact: ow0 − pw − PW_MOD ≡ 0 (mod 4)
  let ih0 = i32(d.oh0) - i32(p.pad_h);
  let xplane4 = d.plane * p.h * w4;
  for (var r = 0u; r < RT + KH - 1u; r++) {
    let ih = ih0 + i32(r);
    if (ih < 0 || ih >= i32(p.h)) { continue; }
    var win = depthwise_window4(xplane4 + u32(ih) * w4, w4, chunk0);
    depthwise_row(&acc, &d, r, &win);
  }
  let b = depthwise_bias(d.plane);
  let wo4 = p.wo / 4u;
  for (var o = 0u; o < RT; o++) {
    let oh = d.oh0 + o;
    if (oh >= p.ho) { continue; }
    y4[(d.plane * p.ho + oh) * wo4 + d.ow0 / 4u] = acc[o] + b;
  }
}

@group(0) @binding(13) var<storage, read> dy4: array<vec4<f32>>;

// Grad weight of the stride-1 depthwise convolution when both widths are multiples of 4:
// dw[c, kh, kw] = Σ_{n, oh, ow} dy[n, c, oh, ow] · x[n, c, oh − ph + kh, ow − pw + kw]. One workgroup
// per channel (wid.x + wid.y · wg_stride); its 64 invocations stride over the (image, RT rows,
// 4 columns) tiles, reading dy and x rows as vec4s like depthwise_vec4, then tree-sum the taps.
@compute @workgroup_size(64)
fn depthwise_grad_weight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x + wid.y * p.wg_stride;
  let valid = c < p.cout;
  let tiles_h = (p.ho + RT - 1u) / RT;
  let per_image = tiles_h * p.tiles_w;
  let total = select(0u, p.batch * per_image, valid);
  let ntaps = KH * KW;
  var acc: array<f32, MAX_ACC>;
  for (var v = 0u; v < ntaps; v++) { acc[v] = 0.0; }
  let w4 = p.w / 4u;
  let wo4 = p.wo / 4u;
  for (var t = lid; t < total; t += 64u) {
    let n = t / per_image;
    let rem = t - n * per_image;
    let oh0 = (rem / p.tiles_w) * RT;
    let ow0 = (rem % p.tiles_w) * 4u;
    let plane = n * p.cout + c;
    var g: array<vec4<f32>, MAX_RT>;
    for (var o = 0u; o < RT; o++) {
      let oh = oh0 + o;
      g[o] = select(vec4<f32>(0.0), dy4[(plane * p.ho + min(oh, p.ho - 1u)) * wo4 + ow0 / 4u], oh < p.ho);
    }
    let chunk0 = (i32(ow0) - i32(p.pad_w) - i32(PW_MOD)) / 4;
    let ih0 = i32(oh0) - i32(p.pad_h);
    for (var r = 0u; r < RT + KH - 1u; r++) {
      let ih = ih0 + i32(r);
      if (ih < 0 || ih >= i32(p.h)) { continue; }
      var win = depthwise_window4((plane * p.h + u32(ih)) * w4, w4, chunk0);
      for (var kh = 0u; kh < KH; kh++) {
        if (r < kh || r - kh >= RT) { continue; }
        for (var kw = 0u; kw < KW; kw++) {
          acc[kh * KW + kw] += dot(g[r - kh], vec4<f32>(win[kw], win[kw + 1u], win[kw + 2u], win[kw + 3u]));
        }
      }
    }
  }
  for (var v = 0u; v < ntaps; v++) { conv_partials[v * WG + lid] = acc[v]; }
  reduce_partials(lid, ntaps);
  if (valid && lid < ntaps) { dw[c * ntaps + lid] = conv_partials[lid * WG]; }
}
