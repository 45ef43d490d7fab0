// Sums a tensor down to a broadcast-compatible smaller shape (the backward of broadcasting).
// The input is viewed at rank 8; `keep` holds the output shape (1 on reduced dimensions) and
// `red` the extent of each reduced dimension (1 on kept ones). One invocation per output element.
struct Params {
  n: u32, stride: u32, count: u32, pad0: u32,
  keep_lo: vec4<u32>, keep_hi: vec4<u32>,
  red_lo: vec4<u32>, red_hi: vec4<u32>,
  in_lo: vec4<u32>, in_hi: vec4<u32>,
}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

fn dim(lo: vec4<u32>, hi: vec4<u32>, k: u32) -> u32 { if (k < 4u) { return lo[k]; } return hi[k - 4u]; }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let o = gid.x + gid.y * p.stride;
  if (o >= p.n) { return; }
  var rem = o;
  var base = 0u;
  for (var k = 7i; k >= 0i; k--) {
    let d = dim(p.keep_lo, p.keep_hi, u32(k));
    base += (rem % d) * dim(p.in_lo, p.in_hi, u32(k));
    rem = rem / d;
  }
  var acc = 0.0;
  for (var r = 0u; r < p.count; r++) {
    var rr = r;
    var off = base;
    for (var k = 7i; k >= 0i; k--) {
      let d = dim(p.red_lo, p.red_hi, u32(k));
      if (d > 1u) {
        off += (rr % d) * dim(p.in_lo, p.in_hi, u32(k));
        rr = rr / d;
      }
    }
    acc += x[off];
  }
  out[o] = acc;
}
