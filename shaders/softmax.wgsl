// Softmax and log-softmax over the last axis of a tensor viewed as [rows, L], forward and backward.
// LANES invocations share one row: each strides over it, then a tree reduction in workgroup memory
// (reduce_row) combines them. LANES = 1 gives one invocation per row (short rows, no barriers do
// any work); LANES = WG gives one workgroup per row (long rows). The host picks LANES from the shape.
// #include "lib/row_reduce.wgsl"
// #include "lib/neg_big.wgsl"
// #include "lib/hsum.wgsl"
struct Params { rows: u32, L: u32, row_stride: u32 }
override LOG: u32 = 0u; // 0 = softmax, 1 = log-softmax
override LANES: u32 = 1u; // power of two, divides WG
const WG: u32 = 256u; // = @workgroup_size below

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> yv: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let row = row_of(wid, lid, p.row_stride);
  let valid = row < p.rows;
  let base = row * p.L;
  // One pass for max and sum (online softmax): the sum is rescaled only when the max grows.
  var st = vec2<f32>(NEG_BIG, 0.0);
  if (valid) {
    for (var k = lane; k < p.L; k += LANES) {
      let v = x[base + k];
      if (v > st.x) {
        st = vec2<f32>(v, st.y * exp(st.x - v) + 1.0);
      } else {
        st.y += exp(v - st.x);
      }
    }
  }
  st = reduce_row(st, lid, ROW_SOFTMAX_STATS);
  if (!valid) { return; }
  let inv_sum = 1.0 / st.y;
  let log_sum = log(st.y);
  for (var k = lane; k < p.L; k += LANES) {
    let z = x[base + k] - st.x;
    if (LOG == 1u) { y[base + k] = z - log_sum; } else { y[base + k] = exp(z) * inv_sum; }
  }
}

// softmax:     dx = y ⊙ (dy − Σ dy⊙y)
// log-softmax: dx = dy − exp(y) · Σ dy      (y is the log-softmax output)
@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let row = row_of(wid, lid, p.row_stride);
  let valid = row < p.rows;
  let base = row * p.L;
  var acc = 0.0;
  if (valid) {
    for (var k = lane; k < p.L; k += LANES) {
      if (LOG == 1u) { acc += dy[base + k]; } else { acc += dy[base + k] * yv[base + k]; }
    }
  }
  let total = reduce_row(vec2<f32>(acc, 0.0), lid, ROW_SUM).x;
  if (!valid) { return; }
  for (var k = lane; k < p.L; k += LANES) {
    let g = dy[base + k];
    let yk = yv[base + k];
    if (LOG == 1u) { dx[base + k] = g - exp(yk) * total; } else { dx[base + k] = yk * (g - total); }
  }
}

// CPU-adapter variants (one invocation per row, rows a multiple of 4 long): the row is read and
// written as vec4s, and the running max is updated once per 4 values, so there is no divergent
// branch and one exp per value plus one per vec4 (on llvmpipe a storage access costs per
// invocation about as much as per value, and both sides of a divergent branch always run).
@group(0) @binding(6) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> yv4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read_write> dx4: array<vec4<f32>>;

@compute @workgroup_size(64)
fn forward_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x + gid.y * p.row_stride;
  if (row >= p.rows) { return; }
  let n4 = p.L / 4u;
  let base = row * n4;
  var m = NEG_BIG;
  var s = 0.0;
  for (var k = 0u; k < n4; k++) {
    let v = x4[base + k];
    let nm = max(m, max(max(v.x, v.y), max(v.z, v.w)));
    s = s * exp(m - nm) + hsum(exp(v - nm));
    m = nm;
  }
  let inv_sum = 1.0 / s;
  let log_sum = log(s);
  for (var k = 0u; k < n4; k++) {
    let z = x4[base + k] - m;
    if (LOG == 1u) { y4[base + k] = z - log_sum; } else { y4[base + k] = exp(z) * inv_sum; }
  }
}

@compute @workgroup_size(64)
fn backward_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x + gid.y * p.row_stride;
  if (row >= p.rows) { return; }
  let n4 = p.L / 4u;
  let base = row * n4;
  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < n4; k++) {
    if (LOG == 1u) { acc += dy4[base + k]; } else { acc += dy4[base + k] * yv4[base + k]; }
  }
  let total = hsum(acc);
  for (var k = 0u; k < n4; k++) {
    let g = dy4[base + k];
    let yk = yv4[base + k];
    if (LOG == 1u) { dx4[base + k] = g - exp(yk) * total; } else { dx4[base + k] = yk * (g - total); }
  }
}
