// Gradient sums of a channel LayerNorm over one plane of an NCHW tensor: (Σ dy ⊙ x̂, Σ dy) over
// pixels [q0, q1) of plane `plane` (= b·C + c, hw pixels each), x̂ = (x − mean) · rstd with the
// per-pixel statistics of image b at stats_at + b·hw + q (mean) and stats_at + B·hw + b·hw + q
// (rstd; positions = B·hw). One invocation walks the pixels alone (no workgroup tree: on CPU
// adapters barriers cost more than the sums), four at a time as vec4s when hw % 4 == 0.
// The including shader declares x4, dy4 and saved4 (array<vec4<f32>>, read) and
// `override ALIGNED: bool` (hw % 4 == 0); q0 is a multiple of 4.
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
