// Embedding lookup and its race-free backward. Indices are read as u32, so i32 tensors work too:
// a negative i32 reads as a huge u32. Any index ≥ rows is out of range: forward writes a zero row
// and backward ignores it (deterministic, never an out-of-bounds access).
struct Params { n: u32, stride: u32, rows: u32, dim: u32, count: u32 }

@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(0) @binding(1) var<storage, read> indices: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dtable: array<f32>;
// CSR of the indices (built on the host when they come from host data): positions of the
// lookups of row v are order[offsets[v] .. offsets[v+1]), in increasing order.
@group(0) @binding(6) var<storage, read> offsets: array<u32>;
@group(0) @binding(7) var<storage, read> order: array<u32>;

// out[m, d] = table[indices[m], d]; one invocation per output element (n = count·dim).
@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  let row = indices[i / p.dim];
  var v = 0.0;
  if (row < p.rows) { v = table[row * p.dim + i % p.dim]; }
  out[i] = v;
}

// dtable[v, d] = Σ_{m: indices[m] = v} dy[m, d]. One invocation per (v, d) scans every index, so no
// two invocations write the same element and no float atomics are needed. Cost rows·count·dim:
// meant for small tables (class embeddings).
@compute @workgroup_size(256)
fn backward_scan(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  let v = i / p.dim;
  let d = i % p.dim;
  var acc = 0.0;
  for (var m = 0u; m < p.count; m++) {
    if (indices[m] == v) { acc += dy[m * p.dim + d]; }
  }
  dtable[i] = acc;
}

// Same sums through the CSR: cost count·dim in total. Summation order (increasing m) matches
// backward_scan, so both give bit-identical gradients.
@compute @workgroup_size(256)
fn backward_csr(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  let v = i / p.dim;
  let d = i % p.dim;
  var acc = 0.0;
  for (var k = offsets[v]; k < offsets[v + 1u]; k++) {
    acc += dy[order[k] * p.dim + d];
  }
  dtable[i] = acc;
}
