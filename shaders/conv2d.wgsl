// 2-D convolution over NCHW tensors with PyTorch's weight layout [Co, Ci/groups, KH, KW], zero
// padding, stride and groups; forward, grad input (transposed convolution), grad weight, grad bias.
//
// Kernel height/width, the horizontal stride and the channel tiles are override constants, so loops
// over them have constant trip counts: the compiler unrolls them and keeps the accumulators and the
// input row window in registers. Each invocation computes 4 neighbouring pixels for TC channels,
// which reuses every loaded input value KW·TC times (the window) and every weight 4 times.
struct Params {
  batch: u32, cin: u32, h: u32, w: u32,
  cout: u32, ho: u32, wo: u32, cig: u32,          // cig = Ci / groups
  cog: u32, stride_h: u32, pad_h: u32, pad_w: u32, // cog = Co / groups
  has_bias: u32, tiles_w: u32, tiles_c: u32, wg_stride: u32,
}

override KH: u32 = 3u;
override KW: u32 = 3u;
override SW: u32 = 1u;  // horizontal stride
override TC: u32 = 1u;  // channels per invocation (forward: output, grad_input: input); divides cog / cig
override TO: u32 = 1u;  // grad_weight: output channels per workgroup (divides cog)
override TI: u32 = 1u;  // grad_weight: input channels per workgroup (divides cig)
override RH: u32 = 3u;  // grad_weight: kernel rows per workgroup

const MAX_TC: u32 = 8u;
const MAX_WIN: u32 = 40u;  // input window of 4 outputs: 3·SW + KW values
const MAX_ACC: u32 = 32u;  // grad_weight accumulators: TO·TI·RH·KW
const WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dw: array<f32>;
@group(0) @binding(7) var<storage, read_write> db: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;

// x[row + i] for 0 <= i < len, else 0 (zero padding).
fn load_x(row: u32, i: i32, len: u32) -> f32 {
  return select(0.0, x[row + u32(clamp(i, 0, i32(len) - 1))], i >= 0 && i < i32(len));
}

fn load_dy(row: u32, i: i32, len: u32) -> f32 {
  return select(0.0, dy[row + u32(clamp(i, 0, i32(len) - 1))], i >= 0 && i < i32(len));
}

// floor(a / b) for b > 0.
fn floor_div(a: i32, b: i32) -> i32 {
  return (a - (((a % b) + b) % b)) / b;
}

// Forward. gid.x: (oh, 4-wide column tile); gid.y: (batch, output-channel tile).
// y[n, co, oh, ow] = bias[co] + Σ_{c, kh, kw} x[n, g·cig + c, oh·sh − ph + kh, ow·sw − pw + kw] · w[co, c, kh, kw]
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let sp = gid.x;
  if (sp >= p.ho * p.tiles_w) { return; }
  let oh = sp / p.tiles_w;
  let ow0 = (sp % p.tiles_w) * 4u;
  let nb = gid.y / p.tiles_c;
  let co0 = (gid.y % p.tiles_c) * TC;
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
      for (var i = 0u; i < win_len; i++) { win[i] = load_x(xrow, iw0 + i32(i), p.w); }
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
// floor) get exactly 0. gid.x: (ih / sh, column tile); gid.y: (batch, input-channel tile, rh, rw).
// dx[n, ci, ih, iw] = Σ_{co in group, kh, kw: (ih + ph − kh) = oh·sh, (iw + pw − kw) = ow·sw} dy[n, co, oh, ow] · w[co, ci − g·cig, kh, kw]
@compute @workgroup_size(64)
fn grad_input(@builtin(global_invocation_id) gid: vec3<u32>) {
  let hq = (p.h + p.stride_h - 1u) / p.stride_h;
  let sp = gid.x;
  if (sp >= hq * p.tiles_w) { return; }
  let sh = p.stride_h;
  let rw = gid.y % SW;
  let rh = (gid.y / SW) % sh;
  let ct = gid.y / (SW * sh);
  let nb = ct / p.tiles_c;
  let ci0 = (ct % p.tiles_c) * TC;  // absolute input channel
  let g = ci0 / p.cig;
  let cl0 = ci0 - g * p.cig;        // channel within the group
  let ih = rh + sh * (sp / p.tiles_w);
  if (ih >= p.h) { return; }
  let t4 = 4 * i32(sp % p.tiles_w);
  let ksize = KH * KW;
  // Output columns reached through tap kw: ow = 4t + j + (rw + pw − kw) / SW when divisible.
  let a0 = i32(rw + p.pad_w);
  let qmin = floor_div(a0 - i32(KW) + 1, i32(SW));
  let win_len = 4u + (KW + SW - 2u) / SW;
  var acc: array<vec4<f32>, MAX_TC>;
  for (var t = 0u; t < TC; t++) { acc[t] = vec4<f32>(0.0); }
  for (var cl = 0u; cl < p.cog; cl++) {
    let co = g * p.cog + cl;
    let dyplane = (nb * p.cout + co) * p.ho * p.wo;
    let wc = (co * p.cig + cl0) * ksize;
    for (var kh = 0u; kh < KH; kh++) {
      let num = i32(ih + p.pad_h) - i32(kh);
      if (num < 0 || num % i32(sh) != 0) { continue; }
      let oh = u32(num) / sh;
      if (oh >= p.ho) { continue; }
      let dyrow = dyplane + oh * p.wo;
      var win: array<f32, MAX_WIN>;
      for (var i = 0u; i < win_len; i++) { win[i] = load_dy(dyrow, t4 + qmin + i32(i), p.wo); }
      for (var kw = 0u; kw < KW; kw++) {
        let a = a0 - i32(kw);
        if (((a % i32(SW)) + i32(SW)) % i32(SW) != 0) { continue; }
        let idx = u32(a / i32(SW) - qmin);
        let dv = vec4<f32>(win[idx], win[idx + 1u], win[idx + 2u], win[idx + 3u]);
        let wi = wc + kh * KW + kw;
        for (var t = 0u; t < TC; t++) { acc[t] += dv * weight[wi + t * ksize]; }
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

var<workgroup> partial: array<f32, WG * MAX_ACC>;

// Tree-reduces `count` per-invocation values (stored at partial[v·WG + lid]) into partial[v·WG].
fn reduce_partials(lid: u32, count: u32) {
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      for (var v = 0u; v < count; v++) { partial[v * WG + lid] += partial[v * WG + lid + s]; }
    }
    workgroupBarrier();
  }
}

// Grad weight: one workgroup per (TO output channels, TI input channels, RH kernel rows) block of
// the weight; its invocations split the N·Ho·Wo positions, then tree-reduce (no atomics).
// dw[co, c, kh, kw] = Σ_{n, oh, ow} dy[n, co, oh, ow] · x[n, g·cig + c, oh·sh − ph + kh, ow·sw − pw + kw]
@compute @workgroup_size(64)
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
  let hw = p.ho * p.wo;
  let total = select(0u, p.batch * hw, valid);
  for (var pos = lid; pos < total; pos += WG) {
    let nb = pos / hw;
    let oh = (pos % hw) / p.wo;
    let ow = pos % p.wo;
    var dv: array<f32, MAX_TC>;
    for (var a = 0u; a < TO; a++) { dv[a] = dy[((nb * p.cout + co0 + a) * p.ho + oh) * p.wo + ow]; }
    let iw0 = i32(ow * SW) - i32(p.pad_w);
    for (var b = 0u; b < TI; b++) {
      let xplane = (nb * p.cin + g * p.cig + cl0 + b) * p.h * p.w;
      for (var r = 0u; r < RH; r++) {
        let ih = i32(oh * p.stride_h + kh0 + r) - i32(p.pad_h);
        let row_ok = ih >= 0 && ih < i32(p.h);
        let xrow = xplane + u32(clamp(ih, 0, i32(p.h) - 1)) * p.w;
        for (var kw = 0u; kw < KW; kw++) {
          let xv = select(0.0, load_x(xrow, iw0 + i32(kw), p.w), row_ok);
          for (var a = 0u; a < TO; a++) {
            let k = ((a * TI + b) * RH + r) * KW + kw;
            acc[k] += dv[a] * xv;
          }
        }
      }
    }
  }
  for (var v = 0u; v < nacc; v++) { partial[v * WG + lid] = acc[v]; }
  reduce_partials(lid, nacc);
  if (valid) {
    for (var v = lid; v < nacc; v += WG) {
      let kw = v % KW;
      let r = (v / KW) % RH;
      let b = (v / (KW * RH)) % TI;
      let a = v / (KW * RH * TI);
      if (kh0 + r < KH) { dw[(((co0 + a) * p.cig + cl0 + b) * KH + kh0 + r) * KW + kw] = partial[v * WG]; }
    }
  }
}

// Grad bias: one workgroup per output channel, db[co] = Σ_{n, oh, ow} dy[n, co, oh, ow].
@compute @workgroup_size(64)
fn grad_bias(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let co = wid.x + wid.y * p.wg_stride;
  let valid = co < p.cout;
  let hw = p.ho * p.wo;
  var s = 0.0;
  if (valid) {
    for (var pos = lid; pos < p.batch * hw; pos += WG) {
      s += dy[((pos / hw) * p.cout + co) * hw + pos % hw];
    }
  }
  partial[lid] = s;
  reduce_partials(lid, 1u);
  if (valid && lid == 0u) { db[co] = partial[0]; }
}
