// count[0] += number of rows of logits [rows, L] whose first maximal logit is at the label (one
// invocation per row; one atomic add per workgroup).
struct Params { rows: u32, L: u32, row_stride: u32 }

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> count: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> hits: atomic<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = gid.x + gid.y * p.row_stride;
  if (row < p.rows) {
    let base = row * p.L;
    var best = logits[base];
    var arg = 0u;
    for (var k = 1u; k < p.L; k++) {
      let v = logits[base + k];
      if (v > best) { best = v; arg = k; }
    }
    if (arg == labels[row]) { atomicAdd(&hits, 1u); }
  }
  workgroupBarrier();
  if (lid == 0u) {
    let h = atomicLoad(&hits);
    if (h > 0u) { atomicAdd(&count[0], h); }
  }
}
