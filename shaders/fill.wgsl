// Fills the first n words of a buffer with a 32-bit pattern (f32 bits or an integer).
struct Params { n: u32, bits: u32, stride: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i < p.n) { out[i] = p.bits; }
}
