// Counter-based random numbers: Philox4x32-10 keyed by the 64-bit seed, counter = 64-bit block
// number. Global element g (= offset + output index) takes word g % 4 of block g / 4, so values
// depend only on (seed, g): not on the dispatch shape, the adapter or how a tensor is split.
// One invocation per block writes up to 4 elements.
struct Params {
  n: u32, stride: u32, blocks: u32, seed_lo: u32,
  seed_hi: u32, off_lo: u32, off_hi: u32, pad0: u32,
  mean: f32, std: f32, pad1: f32, pad2: f32,
}
// 0: raw u32 words, 1: uniform in [0, 1), 2: normal(mean, std) by Box–Muller.
override MODE: u32 = 0u;

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
  if (MODE == 1u) {
    words = bitcast<vec4<u32>>(vec4<f32>(unit(x.x), unit(x.y), unit(x.z), unit(x.w)));
  } else if (MODE == 2u) {
    // Box–Muller on word pairs: u1 in (0, 1] keeps log finite; the angle π(2·u2 − 1) lies in
    // [−π, π), where WGSL's cos/sin accuracy is specified.
    let r0 = sqrt(-2.0 * log(unit(x.x) + 5.9604644775390625e-8));
    let r1 = sqrt(-2.0 * log(unit(x.z) + 5.9604644775390625e-8));
    let t0 = 3.14159265358979 * (2.0 * unit(x.y) - 1.0);
    let t1 = 3.14159265358979 * (2.0 * unit(x.w) - 1.0);
    let z = vec4<f32>(r0 * cos(t0), r0 * sin(t0), r1 * cos(t1), r1 * sin(t1));
    words = bitcast<vec4<u32>>(p.mean + p.std * z);
  }
  let skip = p.off_lo & 3u;
  for (var lane = 0u; lane < 4u; lane++) {
    let pos = 4u * j + lane;
    if (pos >= skip && pos - skip < p.n) { out[pos - skip] = words[lane]; }
  }
}
