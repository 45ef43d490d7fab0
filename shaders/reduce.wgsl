// Reductions over one axis of a tensor viewed as [outer, n, inner]: sum (mean = sum · scale) and
// max with its argmax (for backward). Two strategies: one invocation per output looping over the
// axis (short axes), or one workgroup per output with a tree reduction (long axes).
// #include "gen/reduce_ops.wgsl"
// #include "lib/channel_base.wgsl"
struct Params { outer: u32, n: u32, inner: u32, scale: f32, stride: u32 }
override OP: u32 = OP_SUM;
const WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> arg: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

fn combine(a: f32, ia: u32, b: f32, ib: u32) -> vec2<f32> {
  // Returns (value, index bits); ties keep the lower index so results are deterministic.
  if (OP == OP_SUM) { return vec2<f32>(a + b, 0.0); }
  if (b > a || (b == a && ib < ia)) { return vec2<f32>(b, bitcast<f32>(ib)); }
  return vec2<f32>(a, bitcast<f32>(ia));
}

fn store_result(o: u32, v: f32, i: u32) {
  if (OP == OP_SUM) { out[o] = v * p.scale; } else { out[o] = v; arg[o] = i; }
}

@compute @workgroup_size(64)
fn per_thread(@builtin(global_invocation_id) gid: vec3<u32>) {
  let o = gid.x + gid.y * p.stride;
  if (o >= p.outer * p.inner) { return; }
  let base = channel_base(o, p.n, p.inner);
  var v = select(0.0, x[base], OP == OP_MAX);
  var vi = 0u;
  for (var k = select(0u, 1u, OP == OP_MAX); k < p.n; k++) {
    let c = combine(v, vi, x[base + k * p.inner], k);
    v = c.x;
    vi = bitcast<u32>(c.y);
  }
  store_result(o, v, vi);
}

var<workgroup> sv: array<f32, WG>;
var<workgroup> si: array<u32, WG>;

@compute @workgroup_size(64)
fn per_workgroup(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = wid.x + wid.y * p.stride;
  let valid = o < p.outer * p.inner;
  var v = 0.0;
  var vi = 0u;
  if (valid) {
    let base = channel_base(o, p.n, p.inner);
    if (OP == OP_MAX) { v = x[base + min(lid, p.n - 1u) * p.inner]; vi = min(lid, p.n - 1u); }
    for (var k = lid; k < p.n; k += WG) {
      let c = combine(v, vi, x[base + k * p.inner], k);
      v = c.x;
      vi = bitcast<u32>(c.y);
    }
  }
  sv[lid] = v;
  si[lid] = vi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      let c = combine(sv[lid], si[lid], sv[lid + s], si[lid + s]);
      sv[lid] = c.x;
      si[lid] = bitcast<u32>(c.y);
    }
    workgroupBarrier();
  }
  if (lid == 0u && valid) { store_result(o, sv[0], si[0]); }
}

// Backward of max: dx[outer, argmax, inner] = dy[outer, inner], zero elsewhere.
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read> argv: array<u32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64)
fn max_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.outer * p.n * p.inner) { return; }
  let inner = i % p.inner;
  let k = (i / p.inner) % p.n;
  let o = (i / (p.inner * p.n)) * p.inner + inner;
  dx[i] = select(0.0, dy[o], argv[o] == k);
}
