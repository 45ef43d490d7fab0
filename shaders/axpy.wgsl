// In-place y += alpha · x (plain SGD updates and gradient accumulation without a new buffer).
// 4 elements per invocation with vec4 accesses; a last, partial group of 4 is updated whole, in
// y's padding (see unary.wgsl).
struct Params { n: u32, stride: u32, alpha: f32 }
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (4u * i < p.n) { y[i] = y[i] + p.alpha * x[i]; }
}
