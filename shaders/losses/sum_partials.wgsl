// The second pass of the losses whose forward needed several workgroups:
// out[0] = scale · Σ part[0..n), one workgroup.
// #include "lib/workgroup_sum.wgsl"
struct Params { n: u32, scale: f32 }
const WG: u32 = 256u; // = @workgroup_size below

@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var k = lid; k < p.n; k += WG) { acc += part[k]; }
  let total = workgroup_sum(acc, lid);
  if (lid == 0u) { out[0] = total * p.scale; }
}
