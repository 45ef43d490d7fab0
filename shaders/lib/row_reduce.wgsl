// Reductions over the LANES invocations that share one row of a row kernel (softmax, layernorm,
// the row losses): each lane strides over the row, then a tree in workgroup memory combines
// them. The including shader declares `override LANES: u32` (a power of two dividing WG) and
// `const WG: u32`; lanes of a row are consecutive local invocations.
// #include "lib/workgroup_sum.wgsl"

// The row of local invocation `lid` in workgroup `wid`: WG / LANES rows per workgroup, and
// `row_stride` rows per step of workgroup_id.y (grids wider than the per-dimension limit).
fn row_of(wid: vec3<u32>, lid: u32, row_stride: u32) -> u32 {
  return wid.x * (WG / LANES) + wid.y * row_stride + lid / LANES;
}

const ROW_SUM: u32 = 0u;
const ROW_MAX: u32 = 1u;
// Online-softmax statistics (max, Σ exp(v − max)) of partial rows, rescaled to the larger max.
const ROW_SOFTMAX_STATS: u32 = 2u;

fn combine_row(lhs: vec2<f32>, rhs: vec2<f32>, how: u32) -> vec2<f32> {
  switch how {
    case ROW_MAX: { return max(lhs, rhs); }
    case ROW_SOFTMAX_STATS: {
      let top = max(lhs.x, rhs.x);
      return vec2<f32>(top, lhs.y * exp(lhs.x - top) + rhs.y * exp(rhs.x - top));
    }
    default: { return lhs + rhs; }
  }
}

// `value` combined over the row's lanes (`how`: ROW_SUM, ROW_MAX or ROW_SOFTMAX_STATS), returned to
// every lane. Every invocation of the workgroup must call it (it contains barriers); it may be
// called again at once.
fn reduce_row(value: vec2<f32>, lid: u32, how: u32) -> vec2<f32> {
  if (LANES == 1u) { return value; }
  let lane = lid % LANES;
  workgroupBarrier();
  red[lid] = value;
  workgroupBarrier();
  for (var span = LANES / 2u; span > 0u; span = span / 2u) {
    if (lane < span) { red[lid] = combine_row(red[lid], red[lid + span], how); }
    workgroupBarrier();
  }
  return red[lid - lane];
}
