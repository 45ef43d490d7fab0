// Strided index decomposition shared by the strided kernels (binary, reduce_to_shape,
// strided_copy include it). A linear index i over an iteration shape of rank `rank` (at most 8; the
// host merges what it can and packs the shape innermost-last into two vec4s with leading 1s)
// becomes element offsets into two operands with their own strides.
//
// Callers pass an override constant as `rank`, so once inlined every level below is decided at
// pipeline creation and the shape and strides are read with constant component indices: llvmpipe
// reads a uniform vector through a runtime index lane by lane (a generic 8-level loop cost 13 ms
// per million elements even when 7 levels had extent 1; unrolled by rank it costs 4). The
// outermost level needs no division.

struct StridedWalk { rem: u32, offset: vec2<u32> }

fn strided_level(w: ptr<function, StridedWalk>, rank: u32, level: u32, extent: u32, strides: vec2<u32>) {
  if (level + 1u < rank) {
    let c = (*w).rem % extent;
    (*w).rem = (*w).rem / extent;
    (*w).offset += c * strides;
  } else if (level + 1u == rank) {
    (*w).offset += (*w).rem * strides;
  }
}

/** Offsets of linear index i into operands a and b (strides sa, sb; 0 = broadcast). */
fn strided_offsets(i: u32, rank: u32, shape_lo: vec4<u32>, shape_hi: vec4<u32>, sa_lo: vec4<u32>, sa_hi: vec4<u32>, sb_lo: vec4<u32>, sb_hi: vec4<u32>) -> vec2<u32> {
  var w = StridedWalk(i, vec2<u32>(0u));
  strided_level(&w, rank, 0u, shape_hi.w, vec2<u32>(sa_hi.w, sb_hi.w));
  strided_level(&w, rank, 1u, shape_hi.z, vec2<u32>(sa_hi.z, sb_hi.z));
  strided_level(&w, rank, 2u, shape_hi.y, vec2<u32>(sa_hi.y, sb_hi.y));
  strided_level(&w, rank, 3u, shape_hi.x, vec2<u32>(sa_hi.x, sb_hi.x));
  strided_level(&w, rank, 4u, shape_lo.w, vec2<u32>(sa_lo.w, sb_lo.w));
  strided_level(&w, rank, 5u, shape_lo.z, vec2<u32>(sa_lo.z, sb_lo.z));
  strided_level(&w, rank, 6u, shape_lo.y, vec2<u32>(sa_lo.y, sb_lo.y));
  strided_level(&w, rank, 7u, shape_lo.x, vec2<u32>(sa_lo.x, sb_lo.x));
  return w.offset;
}
