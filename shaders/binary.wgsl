// Broadcasting elementwise binary ops: out = a OP b. Shapes are padded to rank 8 and packed into
// vec4 pairs; a stride of 0 marks a broadcast dimension.
struct Params {
  n: u32, stride: u32, pad0: u32, pad1: u32,
  shape_lo: vec4<u32>, shape_hi: vec4<u32>,
  sa_lo: vec4<u32>, sa_hi: vec4<u32>,
  sb_lo: vec4<u32>, sb_hi: vec4<u32>,
}
override OP: u32 = 0u;
const ADD = 0u; const SUB = 1u; const MUL = 2u; const DIV = 3u; const MAXIMUM = 4u; const MINIMUM = 5u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn dim(lo: vec4<u32>, hi: vec4<u32>, k: u32) -> u32 { if (k < 4u) { return lo[k]; } return hi[k - 4u]; }

fn apply(u: f32, v: f32) -> f32 {
  switch OP {
    case ADD: { return u + v; }
    case SUB: { return u - v; }
    case MUL: { return u * v; }
    case DIV: { return u / v; }
    case MAXIMUM: { return max(u, v); }
    case MINIMUM: { return min(u, v); }
    default: { return u; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var k = 7i; k >= 0i; k--) {
    let d = dim(p.shape_lo, p.shape_hi, u32(k));
    let c = rem % d;
    rem = rem / d;
    ia += c * dim(p.sa_lo, p.sa_hi, u32(k));
    ib += c * dim(p.sb_lo, p.sb_hi, u32(k));
  }
  out[i] = apply(a[ia], b[ib]);
}

// Fast path for operands of the output's shape (no index decomposition; the common case in
// residual adds and backward products, where the general kernel's 8-level loop dominates on CPUs).
@compute @workgroup_size(256)
fn same_shape(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i < p.n) { out[i] = apply(a[i], b[i]); }
}
