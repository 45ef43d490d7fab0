// Sums a tensor down to a broadcast-compatible smaller shape (the backward of broadcasting). One
// invocation per output element. The host splits the input's dimensions into kept ones (the
// output's, in order, so the output index walks them) and reduced ones, merges each list where it
// can, and passes both with the input's strides; strided_offsets decomposes an index over
// either, unrolled by KEEP_RANK and RED_RANK.
// #include "lib/strided_index.wgsl"
override KEEP_RANK: u32 = 8u;
override RED_RANK: u32 = 8u;
struct Params {
  n: u32, stride: u32, count: u32, pad0: u32,
  keep_lo: vec4<u32>, keep_hi: vec4<u32>,
  keep_in_lo: vec4<u32>, keep_in_hi: vec4<u32>,
  red_lo: vec4<u32>, red_hi: vec4<u32>,
  red_in_lo: vec4<u32>, red_in_hi: vec4<u32>,
}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let o = gid.x + gid.y * p.stride;
  if (o >= p.n) { return; }
  let none = vec4<u32>(0u);
  let base = strided_offsets(o, KEEP_RANK, p.keep_lo, p.keep_hi, p.keep_in_lo, p.keep_in_hi, none, none).x;
  var acc = 0.0;
  for (var r = 0u; r < p.count; r++) {
    acc += x[base + strided_offsets(r, RED_RANK, p.red_lo, p.red_hi, p.red_in_lo, p.red_in_hi, none, none).x];
  }
  out[o] = acc;
}
