// Fills the first n words of a buffer with a 32-bit pattern (f32 bits or an integer). 4 words per
// invocation with vec4 stores (see unary.wgsl); the owner of the last, partial group of 4 writes
// it word by word, so nothing past n is touched.
struct Params { n: u32, bits: u32, stride: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<vec4<u32>>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (4u * i + 3u < p.n) {
    out[i] = vec4<u32>(p.bits);
    return;
  }
  for (var j = 4u * i; j < p.n; j++) { out[i][j & 3u] = p.bits; }
}
