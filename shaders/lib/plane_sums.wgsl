// Gradient sums of a channel LayerNorm over one plane of an NCHW tensor: (Σ dy ⊙ x̂, Σ dy) over
// pixels [q0, q1) of plane `plane` (= b·C + c, hw pixels each), x̂ = (x − mean) · rstd with the
// per-pixel statistics of image b at stats_at + b·hw + q (mean) and stats_at + B·hw + b·hw + q
// (rstd; positions = B·hw). One invocation walks the pixels alone (no workgroup tree: on CPU
// adapters barriers cost more than the sums), four at a time as vec4s when hw % 4 == 0.
// The including shader declares x4, dy4 and saved4 (array<vec4<f32>>, read), partials
// (array<f32>, read_write) and `override ALIGNED: bool` (hw % 4 == 0); q0 is a multiple of 4.
// #include "lib/hsum.wgsl"
fn plane_sums(plane: u32, b: u32, hw: u32, positions: u32, stats_at: u32, q0: u32, q1: u32) -> vec2<f32> {
  let mean_at = stats_at + b * hw;
  let rstd_at = mean_at + positions;
  var s = vec2<f32>(0.0);
  if (ALIGNED) {
    // Planes and the stats of an image start on whole vec4s.
    for (var q = q0; q < q1; q += 4u) {
      let g = dy4[(plane * hw + q) / 4u];
      let xh = (x4[(plane * hw + q) / 4u] - saved4[(mean_at + q) / 4u]) * saved4[(rstd_at + q) / 4u];
      s += vec2<f32>(dot(g, xh), hsum(g));
    }
  } else {
    for (var q = q0; q < q1; q++) {
      let at = plane * hw + q;
      let g = dy4[at / 4u][at % 4u];
      let xh = (x4[at / 4u][at % 4u] - saved4[(mean_at + q) / 4u][(mean_at + q) % 4u]) * saved4[(rstd_at + q) / 4u][(rstd_at + q) % 4u];
      s += vec2<f32>(g * xh, g);
    }
  }
  return s;
}

// Invocation i of a launch over (segment, plane), planes fastest (neighbouring invocations take
// neighbouring channels): the sums of its segment — groups of 4 pixels [s·segment_groups,
// (s + 1)·segment_groups) — into partials[(2s + 0)·planes + plane] (Σ dy ⊙ x̂) and
// partials[(2s + 1)·planes + plane] (Σ dy). Planes are b·C + c over `batch` images.
fn segment_partials(i: u32, batch: u32, C: u32, hw: u32, stats_at: u32, segment_groups: u32) {
  let planes = batch * C;
  let plane = i % planes;
  let seg = i / planes;
  let q0 = 4u * seg * segment_groups;
  let s = plane_sums(plane, plane / C, hw, batch * hw, stats_at, q0, min(hw, q0 + 4u * segment_groups));
  partials[2u * seg * planes + plane] = s.x;
  partials[(2u * seg + 1u) * planes + plane] = s.y;
}
