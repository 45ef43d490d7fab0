// Broadcasting elementwise binary ops: out = a OP b. Shapes are padded to rank 8 and packed into
// vec4 pairs; a stride of 0 marks a broadcast dimension. Each invocation writes 4 consecutive
// outputs with one vec4 store; a last, partial group of 4 is computed whole into the output's
// padding (see unary.wgsl; out-of-range operand reads are clamped by robust buffer access).
// The broadcast index decomposition is strided_offsets from lib/strided_index.wgsl.
// #include "lib/strided_index.wgsl"
// #include "gen/binary_ops.wgsl"
override RANK: u32 = 8u; // dimensions of the (merged) iteration shape
struct Params {
  n: u32, stride: u32, pad0: u32, pad1: u32,
  shape_lo: vec4<u32>, shape_hi: vec4<u32>,
  sa_lo: vec4<u32>, sa_hi: vec4<u32>,
  sb_lo: vec4<u32>, sb_hi: vec4<u32>,
}
override OP: u32 = OP_ADD;

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

fn apply(u: f32, v: f32) -> f32 {
  switch OP {
    case OP_ADD: { return u + v; }
    case OP_SUB: { return u - v; }
    case OP_MUL: { return u * v; }
    case OP_DIV: { return u / v; }
    case OP_MAXIMUM: { return max(u, v); }
    case OP_MINIMUM: { return min(u, v); }
    default: { return u; }
  }
}

fn load_a(i: u32) -> f32 { return a[i >> 2u][i & 3u]; }
fn load_b(i: u32) -> f32 { return b[i >> 2u][i & 3u]; }

// a OP b at output element i, through the broadcast strides.
fn at(i: u32) -> f32 {
  let o = strided_offsets(i, RANK, p.shape_lo, p.shape_hi, p.sa_lo, p.sa_hi, p.sb_lo, p.sb_hi);
  return apply(load_a(o.x), load_b(o.y));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  let i0 = 4u * i;
  if (i0 < p.n) { out[i] = vec4<f32>(at(i0), at(i0 + 1u), at(i0 + 2u), at(i0 + 3u)); }
}

// Fast path for operands of the output's shape (no index decomposition; the common case in
// residual adds and backward products, where the general kernel's 8-level loop dominates on CPUs).
@compute @workgroup_size(64)
fn same_shape(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (4u * i < p.n) {
    let u = a[i];
    let v = b[i];
    out[i] = vec4<f32>(apply(u.x, v.x), apply(u.y, v.y), apply(u.z, v.z), apply(u.w, v.w));
  }
}
