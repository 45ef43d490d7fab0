// Mean |a − b| over two flat tensors: a forward that sums FLAT_CHUNK elements per workgroup
// (sum_partials.wgsl adds the partial sums when there are several) and a one-dispatch backward.
// #include "lib/workgroup_sum.wgsl"
struct Params {
  n: u32,
  // Workgroups (forward) or invocations (backward) per step of workgroup_id.y.
  stride: u32,
  scale: f32,
  // backward: bit 0 = write the gradient of a, bit 1 = of b.
  flags: u32,
}
const WG: u32 = 256u; // = @workgroup_size below
// Elements per workgroup of forward.
const FLAT_CHUNK: u32 = 4096u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> ga: array<f32>;
@group(0) @binding(5) var<storage, read_write> gb: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * p.stride;
  let start = w * FLAT_CHUNK;
  let end = min(start + FLAT_CHUNK, p.n);
  var acc = 0.0;
  for (var i = start + lid; i < end; i += WG) { acc += abs(a[i] - b[i]); }
  let total = workgroup_sum(acc, lid);
  if (lid == 0u) { out[w] = total * p.scale; }
}

// ga = dy · sign(a − b) / n, gb = −ga (sign(0) = 0, as torch).
@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  let g = dy[0] * p.scale * sign(a[i] - b[i]);
  if ((p.flags & 1u) != 0u) { ga[i] = g; }
  if ((p.flags & 2u) != 0u) { gb[i] = -g; }
}
