// Generic strided copy. For every coordinate c of an iteration shape (rank ≤ 8, padded with
// leading 1s and packed into vec4 pairs):
//   dst[dst_base + Σ c·dst_stride] = src[src_base + Σ c·src_stride]
// Permute and slice read strided and write densely; concat and slice-backward read densely and
// write strided into a region. Words move as u32, so every 32-bit dtype copies bit-exactly.
// The index decomposition is strided_offsets from lib/strided_index.wgsl.
// #include "lib/strided_index.wgsl"
override RANK: u32 = 8u; // dimensions of the (merged) iteration shape
// 4: each invocation copies 4 consecutive elements of the innermost dimension (its extent is a
// multiple of 4), so the index decomposition is shared by 4 copies.
override GROUP: u32 = 1u;
struct Params {
  n: u32, stride: u32, src_base: u32, dst_base: u32,
  shape_lo: vec4<u32>, shape_hi: vec4<u32>,
  ss_lo: vec4<u32>, ss_hi: vec4<u32>,
  ds_lo: vec4<u32>, ds_hi: vec4<u32>,
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = (gid.x + gid.y * p.stride) * GROUP;
  if (i >= p.n) { return; }
  let o = strided_offsets(i, RANK, p.shape_lo, p.shape_hi, p.ss_lo, p.ss_hi, p.ds_lo, p.ds_hi);
  for (var j = 0u; j < GROUP; j++) {
    dst[p.dst_base + o.y + j * p.ds_hi.w] = src[p.src_base + o.x + j * p.ss_hi.w];
  }
}
