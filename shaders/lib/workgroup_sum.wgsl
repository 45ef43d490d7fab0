// Tree sum over a whole workgroup in workgroup memory. The including shader declares
// `const WG: u32` (its workgroup size, a power of two); `red` is WG scratch pairs that the
// shader's own trees may use too.
var<workgroup> red: array<vec2<f32>, WG>;

// Sum of `value` over the workgroup. Every invocation must call it (it contains barriers); it may be
// called again at once: the first barrier waits for the readers of the previous result.
fn workgroup_sum(value: f32, lid: u32) -> f32 {
  workgroupBarrier();
  red[lid] = vec2<f32>(value, 0.0);
  workgroupBarrier();
  for (var span = WG / 2u; span > 0u; span = span / 2u) {
    if (lid < span) { red[lid] = red[lid] + red[lid + span]; }
    workgroupBarrier();
  }
  return red[0].x;
}
