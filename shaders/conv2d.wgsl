// 2-D convolution over NCHW tensors with PyTorch's weight layout [Co, Ci/groups, KH, KW], zero
// padding, stride and groups; forward, grad input (transposed convolution), grad weight, grad bias.
//
// Kernel height/width, the horizontal stride and the channel tiles are override constants, so loops
// over them have constant trip counts: the compiler unrolls them and keeps the accumulators and the
// input row window in registers. Each invocation computes 4 neighbouring pixels for TC channels,
// which reuses every loaded input value KW·TC times (the window) and every weight 4 times.
// #include "lib/conv2d_common.wgsl"

override SW: u32 = 1u;  // horizontal stride
override TC: u32 = 1u;  // channels per invocation (forward: output, grad_input: input); divides cog / cig
override TO: u32 = 1u;  // grad_weight: output channels per workgroup (divides cog)
override TI: u32 = 1u;  // grad_weight: input channels per workgroup (divides cig)
override RH: u32 = 3u;  // grad_weight: kernel rows per workgroup
const MAX_TC: u32 = 8u;
override COLS_VEC: u32 = 0u; // im2col: 1 when wo % 4 == 0
override WG: u32 = 64u; // reduction workgroup size (power of two <= MAX_WG): small when there are few positions

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dw: array<f32>;
@group(0) @binding(7) var<storage, read_write> db: array<f32>;
@group(0) @binding(8) var<uniform> p: ConvParams;
// im2col's patches as vec4s: with COLS_VEC (wo % 4 == 0) a tile's four outputs are one aligned vec4.
@group(0) @binding(9) var<storage, read_write> cols: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read> dcols: array<f32>;

fn load_dy(row: u32, i: i32, len: u32) -> f32 {
  return select(0.0, dy[row + u32(clamp(i, 0, i32(len) - 1))], i >= 0 && i < i32(len));
}



// Forward. gid.x: (batch, oh, 4-wide column tile); gid.y: output-channel tile. The batch runs
// along x so small feature maps (4×4, 8×8) still fill the workgroup, while the channel tile, and
// with it every weight load, stays the same for the whole workgroup.
// y[n, co, oh, ow] = bias[co] + Σ_{c, kh, kw} x[n, g·cig + c, oh·sh − ph + kh, ow·sw − pw + kw] · w[co, c, kh, kw]
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let plane_tiles = p.ho * p.tiles_w;
  if (gid.x >= p.batch * plane_tiles) { return; }
  let nb = gid.x / plane_tiles;
  let sp = gid.x - nb * plane_tiles;
  let oh = sp / p.tiles_w;
  let ow0 = (sp % p.tiles_w) * 4u;
  let co0 = wid.y * TC;
  let g = co0 / p.cog;
  let ksize = KH * KW;
  let wstride = p.cig * ksize;  // weight distance between consecutive output channels
  let win_len = 3u * SW + KW;
  let iw0 = i32(ow0 * SW) - i32(p.pad_w);
  let ih0 = i32(oh * p.stride_h) - i32(p.pad_h);
  var acc: array<vec4<f32>, MAX_TC>;
  for (var t = 0u; t < TC; t++) { acc[t] = vec4<f32>(0.0); }
  for (var c = 0u; c < p.cig; c++) {
    let xplane = (nb * p.cin + g * p.cig + c) * p.h * p.w;
    let wc = (co0 * p.cig + c) * ksize;
    for (var kh = 0u; kh < KH; kh++) {
      let ih = ih0 + i32(kh);
      if (ih < 0 || ih >= i32(p.h)) { continue; }
      let xrow = xplane + u32(ih) * p.w;
      var win: array<f32, MAX_WIN>;
      for (var i = 0u; i < win_len; i++) { win[i] = conv_load_x(xrow, iw0 + i32(i), p.w); }
      for (var kw = 0u; kw < KW; kw++) {
        let xv = vec4<f32>(win[kw], win[kw + SW], win[kw + 2u * SW], win[kw + 3u * SW]);
        let wi = wc + kh * KW + kw;
        for (var t = 0u; t < TC; t++) { acc[t] += xv * weight[wi + t * wstride]; }
      }
    }
  }
  for (var t = 0u; t < TC; t++) {
    let co = co0 + t;
    let v = acc[t] + select(0.0, bias[min(co, arrayLength(&bias) - 1u)], p.has_bias != 0u);
    let base = ((nb * p.cout + co) * p.ho + oh) * p.wo;
    for (var j = 0u; j < 4u; j++) {
      if (ow0 + j < p.wo) { y[base + ow0 + j] = v[j]; }
    }
  }
}


// Grad input: a transposed convolution. Each invocation owns 4 input columns of one residue class
// rw modulo SW (iw = rw + SW·(4·t + j)) and one row of residue rh modulo sh, so which kernel taps
// reach it is the same for the whole workgroup (no divergence), and the dy values it needs lie in
// one contiguous window of the dy row. Input pixels no output reads (cut off by the forward's
// floor) get exactly 0. gid.x: (batch, ih / sh, column tile); gid.y: (input-channel tile, rh, rw).
// dx[n, ci, ih, iw] = Σ_{co in group, kh, kw: (ih + ph − kh) = oh·sh, (iw + pw − kw) = ow·sw} dy[n, co, oh, ow] · w[co, ci − g·cig, kh, kw]
@compute @workgroup_size(64)
fn grad_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let hq = (p.h + p.stride_h - 1u) / p.stride_h;
  let plane_tiles = hq * p.tiles_w;
  if (gid.x >= p.batch * plane_tiles) { return; }
  let nb = gid.x / plane_tiles;  // the batch runs along x, as in forward
  let sp = gid.x - nb * plane_tiles;
  let sh = p.stride_h;
  let rw = wid.y % SW;
  let rh = (wid.y / SW) % sh;
  let ci0 = (wid.y / (SW * sh)) * TC;  // absolute input channel
  let g = ci0 / p.cig;
  let cl0 = ci0 - g * p.cig;        // channel within the group
  let ih = rh + sh * (sp / p.tiles_w);
  if (ih >= p.h) { return; }
  let t4 = 4 * i32(sp % p.tiles_w);
  let ksize = KH * KW;
  // Tap kw reaches these columns when kw ≡ m (mod SW), m = (rw + pw) mod SW: kw = m + SW·u, and then
  // ow = 4t + j + Q − u with Q = (rw + pw − m) / SW. The dy window starts at 4t + Q − (nu − 1), so
  // tap u reads window entries nu − 1 − u + j: constant indices, which keep the window in registers.
  let a0 = rw + p.pad_w;
  let m = a0 % SW;
  let nu = (KW + SW - 1u) / SW;
  let win0 = t4 + i32((a0 - m) / SW) - i32(nu - 1u);
  let win_len = nu + 3u;
  var acc: array<vec4<f32>, MAX_TC>;
  for (var t = 0u; t < TC; t++) { acc[t] = vec4<f32>(0.0); }
  // Rows first: which kh reach row ih, and from which oh, is decided once (integer division is
  // slow on CPU adapters), then every output channel of the group is accumulated.
  for (var kh = 0u; kh < KH; kh++) {
    let num = i32(ih + p.pad_h) - i32(kh);
    if (num < 0 || num % i32(sh) != 0) { continue; }
    let oh = u32(num) / sh;
    if (oh >= p.ho) { continue; }
    for (var cl = 0u; cl < p.cog; cl++) {
      let co = g * p.cog + cl;
      let dyrow = ((nb * p.cout + co) * p.ho + oh) * p.wo;
      var win: array<f32, MAX_WIN>;
      for (var i = 0u; i < win_len; i++) { win[i] = load_dy(dyrow, win0 + i32(i), p.wo); }
      let wc = (co * p.cig + cl0) * ksize + kh * KW;
      for (var u = 0u; u < nu; u++) {
        let kw = m + SW * u;
        if (kw >= KW) { continue; }
        let idx = nu - 1u - u;
        let dv = vec4<f32>(win[idx], win[idx + 1u], win[idx + 2u], win[idx + 3u]);
        for (var t = 0u; t < TC; t++) { acc[t] += dv * weight[wc + kw + t * ksize]; }
      }
    }
  }
  for (var t = 0u; t < TC; t++) {
    let base = ((nb * p.cin + ci0 + t) * p.h + ih) * p.w;
    for (var j = 0u; j < 4u; j++) {
      let iw = rw + SW * u32(t4 + i32(j));
      if (iw < p.w) { dx[base + iw] = acc[t][j]; }
    }
  }
}


// Grad weight: one workgroup per (TO output channels, TI input channels, RH kernel rows) block of
// the weight; its invocations split the N·Ho·Wo positions, then tree-reduce (no atomics).
// dw[co, c, kh, kw] = Σ_{n, oh, ow} dy[n, co, oh, ow] · x[n, g·cig + c, oh·sh − ph + kh, ow·sw − pw + kw]
@compute @workgroup_size(WG)
fn grad_weight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let blocks_h = (KH + RH - 1u) / RH;
  let blocks_i = p.cig / TI;
  let blocks_o = p.cout / TO;
  let blk = wid.x + wid.y * p.wg_stride;
  let valid = blk < blocks_o * blocks_i * blocks_h;
  let kh0 = (blk % blocks_h) * RH;
  let cl0 = ((blk / blocks_h) % blocks_i) * TI;
  let co0 = (blk / (blocks_h * blocks_i)) * TO;
  let g = co0 / p.cog;
  let nacc = TO * TI * RH * KW;
  var acc: array<f32, MAX_ACC>;
  for (var v = 0u; v < nacc; v++) { acc[v] = 0.0; }
  // Each step covers 4 neighbouring output columns, so one x row window serves all KW taps.
  let rows = p.ho * p.tiles_w;
  let total = select(0u, p.batch * rows, valid);
  let win_len = 3u * SW + KW;
  // Position pos = (nb·ho + oh)·tiles_w + tw advances by WG per step; the counters are carried
  // by hand because integer division per step costs more than the arithmetic on CPU adapters.
  let step_rows = WG / p.tiles_w;
  let step_tw = WG % p.tiles_w;
  let step_nb = step_rows / p.ho;
  let step_oh = step_rows % p.ho;
  var tw = lid % p.tiles_w;
  var oh = (lid / p.tiles_w) % p.ho;
  var nb = lid / rows;
  for (var pos = lid; pos < total; pos += WG) {
    let ow0 = tw * 4u;
    var dv: array<vec4<f32>, MAX_TC>;
    for (var a = 0u; a < TO; a++) {
      let dyrow = ((nb * p.cout + co0 + a) * p.ho + oh) * p.wo;
      for (var j = 0u; j < 4u; j++) { dv[a][j] = load_dy(dyrow, i32(ow0 + j), p.wo); }
    }
    let iw0 = i32(ow0 * SW) - i32(p.pad_w);
    for (var b = 0u; b < TI; b++) {
      let xplane = (nb * p.cin + g * p.cig + cl0 + b) * p.h * p.w;
      for (var r = 0u; r < RH; r++) {
        let ih = i32(oh * p.stride_h + kh0 + r) - i32(p.pad_h);
        if (ih < 0 || ih >= i32(p.h)) { continue; }
        let xrow = xplane + u32(ih) * p.w;
        var win: array<f32, MAX_WIN>;
        for (var i = 0u; i < win_len; i++) { win[i] = conv_load_x(xrow, iw0 + i32(i), p.w); }
        for (var kw = 0u; kw < KW; kw++) {
          let xv = vec4<f32>(win[kw], win[kw + SW], win[kw + 2u * SW], win[kw + 3u * SW]);
          for (var a = 0u; a < TO; a++) {
            let k = ((a * TI + b) * RH + r) * KW + kw;
            acc[k] += dot(dv[a], xv);
          }
        }
      }
    }
    tw += step_tw;
    let carry = select(0u, 1u, tw >= p.tiles_w);
    tw -= carry * p.tiles_w;
    oh += step_oh + carry;
    let wrap = select(0u, 1u, oh >= p.ho);
    oh -= wrap * p.ho;
    nb += step_nb + wrap;
  }
  for (var v = 0u; v < nacc; v++) { conv_partials[v * WG + lid] = acc[v]; }
  reduce_partials(lid, nacc);
  if (valid) {
    for (var v = lid; v < nacc; v += WG) {
      let kw = v % KW;
      let r = (v / KW) % RH;
      let b = (v / (KW * RH)) % TI;
      let a = v / (KW * RH * TI);
      if (kh0 + r < KH) { dw[(((co0 + a) * p.cig + cl0 + b) * KH + kh0 + r) * KW + kw] = conv_partials[v * WG]; }
    }
  }
}

// Grad bias: one workgroup per output channel, db[co] = Σ_{n, oh, ow} dy[n, co, oh, ow].
@compute @workgroup_size(WG)
fn grad_bias(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let co = wid.x + wid.y * p.wg_stride;
  let valid = co < p.cout;
  let hw = p.ho * p.wo;
  var s = 0.0;
  if (valid) {
    for (var nb = 0u; nb < p.batch; nb++) {
      let plane = (nb * p.cout + co) * hw;
      for (var i = lid; i < hw; i += WG) { s += dy[plane + i]; }
    }
  }
  conv_partials[lid] = s;
  reduce_partials(lid, 1u);
  if (valid && lid == 0u) { db[co] = conv_partials[0]; }
}

// ---------------------------------------------------------------- im2col lowering (groups = 1)
// The matmul path stores the patches of images n0 .. n0 + nc as cols[n, (c, kh, kw), (oh, ow)]:
// y[n] = W[Co, Ci·KH·KW] · cols[n], dW = Σ_n dy[n] · cols[n]ᵀ, dcols[n] = Wᵀ · dy[n].

// gid.x: (input channel c, oh, 4-wide column tile), so small maps still fill the workgroup;
// gid.y: image within the chunk.
// Like the direct forward, one row window of 3·SW + KW inputs serves all KW taps of 4 outputs, so
// each input is loaded about once per kernel row and the index arithmetic is shared by 4·KH·KW writes.
@compute @workgroup_size(64)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>) {
  let plane_tiles = p.ho * p.tiles_w;
  if (gid.x >= p.cin * plane_tiles) { return; }
  let c = gid.x / plane_tiles;
  let sp = gid.x - c * plane_tiles;
  let oh = sp / p.tiles_w;
  let ow0 = (sp - oh * p.tiles_w) * 4u;
  let hw = p.ho * p.wo;
  let xplane = ((p.n0 + gid.y) * p.cin + c) * p.h * p.w;
  let row0 = (gid.y * p.cin + c) * KH * KW;  // patch row of (c, 0, 0)
  let win_len = 3u * SW + KW;
  let iw0 = i32(ow0 * SW) - i32(p.pad_w);
  let ih0 = i32(oh * p.stride_h) - i32(p.pad_h);
  let n_out = min(4u, p.wo - ow0);
  for (var kh = 0u; kh < KH; kh++) {
    let ih = ih0 + i32(kh);
    let inside = ih >= 0 && ih < i32(p.h);
    let xrow = xplane + u32(clamp(ih, 0, i32(p.h) - 1)) * p.w;
    var win: array<f32, MAX_WIN>;
    for (var i = 0u; i < win_len; i++) { win[i] = select(0.0, conv_load_x(xrow, iw0 + i32(i), p.w), inside); }
    for (var kw = 0u; kw < KW; kw++) {
      let dst = (row0 + kh * KW + kw) * hw + oh * p.wo + ow0;
      let v = vec4<f32>(win[kw], win[kw + SW], win[kw + 2u * SW], win[kw + 3u * SW]);
      if (COLS_VEC == 1u) {
        cols[dst >> 2u] = v;
      } else {
        for (var j = 0u; j < n_out; j++) { cols[(dst + j) >> 2u][(dst + j) & 3u] = v[j]; }
      }
    }
  }
}

// Adjoint of im2col, race-free: each invocation gathers, for 4 input columns, the (at most KH·KW)
// patch entries that copied each of them. As in grad_input, its columns share one residue rw
// modulo SW (iw = rw + SW·(4t + j)), so a tap kw reaches all four or none, from 4 consecutive
// patch columns. Input pixels no output reads get exactly 0.
// gid.x: (input channel, ih, column tile t); gid.y: (image within the chunk, rw).
@compute @workgroup_size(64)
fn col2im(@builtin(global_invocation_id) gid: vec3<u32>) {
  let plane_tiles = p.h * p.tiles_w;
  if (gid.x >= p.cin * plane_tiles) { return; }
  let c = gid.x / plane_tiles;
  let sp = gid.x - c * plane_tiles;
  let ih = sp / p.tiles_w;
  let t4 = 4u * (sp - ih * p.tiles_w);
  let rw = gid.y % SW;
  let img = gid.y / SW;
  let hw = p.ho * p.wo;
  let row0 = (img * p.cin + c) * KH * KW;
  var acc = vec4<f32>(0.0);
  for (var kh = 0u; kh < KH; kh++) {
    let nh = i32(ih + p.pad_h) - i32(kh);
    if (nh < 0 || nh % i32(p.stride_h) != 0) { continue; }
    let oh = u32(nh) / p.stride_h;
    if (oh >= p.ho) { continue; }
    for (var kw = 0u; kw < KW; kw++) {
      let a = i32(rw + p.pad_w) - i32(kw);
      if (a % i32(SW) != 0) { continue; }
      let ow0 = a / i32(SW) + i32(t4);
      let src = (row0 + kh * KW + kw) * hw + oh * p.wo;
      for (var j = 0u; j < 4u; j++) {
        let ow = ow0 + i32(j);
        acc[j] += select(0.0, dcols[src + u32(clamp(ow, 0, i32(p.wo) - 1))], ow >= 0 && ow < i32(p.wo));
      }
    }
  }
  let base = ((p.n0 + img) * p.cin + c) * p.h * p.w + ih * p.w;
  for (var j = 0u; j < 4u; j++) {
    let iw = rw + SW * (t4 + j);
    if (iw < p.w) { dx[base + iw] = acc[j]; }
  }
}

// y[n, co, :, :] += bias[co], in place on the matmul's fresh output (matmul's fused bias is per column).
@compute @workgroup_size(64)
fn add_bias_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.wg_stride;
  let hw = p.ho * p.wo;
  if (i >= p.batch * p.cout * hw) { return; }
  y[i] += bias[(i / hw) % p.cout];
}
