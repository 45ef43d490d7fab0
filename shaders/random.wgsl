// Counter-based random numbers: Philox4x32-10 keyed by the 64-bit seed, counter = 64-bit block
// number. Global element g (= offset + output index) takes word g % 4 of block g / 4, so values
// depend only on (seed, g): not on the dispatch shape, the adapter or how a tensor is split.
// One invocation per block writes up to 4 elements.
struct Params {
  n: u32, stride: u32, blocks: u32, seed_lo: u32,
  seed_hi: u32, off_lo: u32, off_hi: u32, pad0: u32,
  mean: f32, scale: f32, pad1: f32, pad2: f32,
}
// #include "gen/random_modes.wgsl"
// Raw u32 words, uniform in [0, 1), or normal(mean, std) by Box–Muller.
override MODE: u32 = MODE_BITS;

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> p: Params;

// 32×32 → 64-bit product as (hi, lo); WGSL has no wide multiply, so the high word is assembled
// from 16-bit halves (every partial product fits in 32 bits).
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
  let al = a & 0xffffu; let ah = a >> 16u;
  let bl = b & 0xffffu; let bh = b >> 16u;
  let ll = al * bl; let lh = al * bh; let hl = ah * bl; let hh = ah * bh;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return vec2<u32>(hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u), a * b);
}

fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let p0 = mulhilo(0xD2511F53u, c.x);
    let p1 = mulhilo(0xCD9E8D57u, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k += vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

// 24 random bits scaled by 2^-24: exact in f32.
fn unit(x: u32) -> f32 { return f32(x >> 8u) * 5.9604644775390625e-8; }

// Box–Muller uses its own ln and sincos built from +, ·, one division and exact integer range
// reduction, so normals agree with the float64 formula to ~1e-6 on every adapter (builtin
// log/cos/sin may be far less accurate: WGSL allows 2^-11 absolute error for cos/sin, and
// SwiftShader's differ by ~5e-5 relative).

// ln x for normal x > 0: exponent split, mantissa in [√½, √2), ln m = 2·atanh(s), s = (m−1)/(m+1).
fn ln_series(x: f32) -> f32 {
  let bits = bitcast<u32>(x);
  var e = i32((bits >> 23u) & 0xffu) - 127i;
  var m = bitcast<f32>((bits & 0x007fffffu) | 0x3f800000u);
  if (m > 1.41421356) { m = m * 0.5; e += 1i; }
  let f = m - 1.0;
  let s = f / (2.0 + f);
  let s2 = s * s;
  let atanh2 = s * (2.0 + s2 * (2.0 / 3.0 + s2 * (0.4 + s2 * (2.0 / 7.0 + s2 * (2.0 / 9.0 + s2 * (2.0 / 11.0))))));
  let fe = f32(e);
  // ln 2 split into a part exact in products with small integers and a remainder.
  return fe * 0.693145751953125 + (fe * 1.428606765330187e-6 + atanh2);
}

// (sin πt, cos πt) for t = j·2^-24, |j| ≤ 2^24: the quadrant comes from the integer exactly, the rest
// is a Taylor polynomial on [−π/4, π/4] (truncation error < 1e-9).
fn sincospi(j: i32) -> vec2<f32> {
  let q = i32(round(f32(j) * 1.1920928955078125e-7));
  let x = f32(j - q * 8388608i) * 5.9604644775390625e-8 * 3.14159265358979;
  let x2 = x * x;
  let s = x * (1.0 + x2 * (-1.0 / 6.0 + x2 * (1.0 / 120.0 + x2 * (-1.0 / 5040.0 + x2 * (1.0 / 362880.0)))));
  let c = 1.0 + x2 * (-0.5 + x2 * (1.0 / 24.0 + x2 * (-1.0 / 720.0 + x2 * (1.0 / 40320.0 + x2 * (-1.0 / 3628800.0)))));
  switch ((q + 4i) % 4i) {
    case 0i: { return vec2<f32>(s, c); }
    case 1i: { return vec2<f32>(c, -s); }
    case 2i: { return vec2<f32>(-s, -c); }
    default: { return vec2<f32>(-c, s); }
  }
}

// Two normals from two words: u1 = ((a >> 8) + 1)·2^-24 ∈ (0, 1], θ = π·(2·(b >> 8)·2^-24 − 1).
fn box_muller(a: u32, b: u32) -> vec2<f32> {
  let r = sqrt(-2.0 * ln_series(unit(a) + 5.9604644775390625e-8));
  let sc = sincospi(i32(2u * (b >> 8u)) - 16777216i);
  return vec2<f32>(r * sc.y, r * sc.x);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x + gid.y * p.stride;
  if (j >= p.blocks) { return; }
  // block = offset / 4 + j with a 64-bit carry.
  let base_lo = (p.off_lo >> 2u) | (p.off_hi << 30u);
  let b_lo = base_lo + j;
  let b_hi = (p.off_hi >> 2u) + select(0u, 1u, b_lo < j);
  let x = philox(vec4<u32>(b_lo, b_hi, 0u, 0u), vec2<u32>(p.seed_lo, p.seed_hi));
  var words = x;
  if (MODE == MODE_UNIFORM) {
    words = bitcast<vec4<u32>>(vec4<f32>(unit(x.x), unit(x.y), unit(x.z), unit(x.w)));
  } else if (MODE == MODE_NORMAL) {
    let z = vec4<f32>(box_muller(x.x, x.y), box_muller(x.z, x.w));
    words = bitcast<vec4<u32>>(p.mean + p.scale * z);
  }
  let skip = p.off_lo & 3u;
  for (var lane = 0u; lane < 4u; lane++) {
    let pos = 4u * j + lane;
    if (pos >= skip && pos - skip < p.n) { out[pos - skip] = words[lane]; }
  }
}
