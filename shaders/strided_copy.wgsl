// Generic strided copy. For every coordinate c of an iteration shape (rank ≤ 8, padded with
// leading 1s and packed into vec4 pairs):
//   dst[dst_base + Σ c·dst_stride] = src[src_base + Σ c·src_stride]
// Permute and slice read strided and write densely; concat and slice-backward read densely and
// write strided into a region. Words move as u32, so every 32-bit dtype copies bit-exactly.
struct Params {
  n: u32, stride: u32, src_base: u32, dst_base: u32,
  shape_lo: vec4<u32>, shape_hi: vec4<u32>,
  ss_lo: vec4<u32>, ss_hi: vec4<u32>,
  ds_lo: vec4<u32>, ds_hi: vec4<u32>,
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

fn dim(lo: vec4<u32>, hi: vec4<u32>, k: u32) -> u32 { if (k < 4u) { return lo[k]; } return hi[k - 4u]; }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  var rem = i;
  var si = p.src_base;
  var di = p.dst_base;
  for (var k = 7i; k >= 0i; k--) {
    let d = dim(p.shape_lo, p.shape_hi, u32(k));
    let c = rem % d;
    rem = rem / d;
    si += c * dim(p.ss_lo, p.ss_hi, u32(k));
    di += c * dim(p.ds_lo, p.ds_hi, u32(k));
  }
  dst[di] = src[si];
}
