// Selection mask for maximum/minimum backward: 1 where x != 0 (the first operand won) or y == 0 (tie).
struct Params { n: u32, stride: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i < p.n) { out[i] = select(0.0, 1.0, x[i] != 0.0 || y[i] == 0.0); }
}
