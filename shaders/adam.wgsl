// Adam / AdamW over flat arenas that hold every parameter of a model back to back (parameters,
// gradients, first and second moments share one layout). The work is a table of chunks
// (arena offset, length) of the parameters that have a gradient this step: one workgroup per
// chunk, so a whole model updates in one dispatch, skipped parameters cost nothing, and tiny
// tensors (biases) do not each need a dispatch.
//
// Global-norm gradient clipping: norm_partial writes Σ g² of each chunk, norm_finalize sums those
// into (norm, scale) on the GPU, and update multiplies every gradient by the scale; no readback.
// #include "lib/workgroup_sum.wgsl"
struct UpdateParams {
  // 1 − β1 and 1 − β2 from the host in float64: 1 − f32(0.999) is 1.3e-5 off 0.001.
  one_minus_beta1: f32,
  beta2: f32,
  one_minus_beta2: f32,
  eps: f32,
  weight_decay: f32,
  // lr / (1 − β1^t) and 1 / √(1 − β2^t), from the host in float64 (no pow in f32 here).
  step_size: f32,
  inv_bc2_sqrt: f32,
  // AdamW: 1 − lr·wd multiplies the parameter; Adam: 1 (and wd goes into the gradient instead).
  decay_mul: f32,
  decoupled: u32,
  use_clip: u32,
  chunk_base: u32,
  chunk_count: u32,
  wg_stride: u32,
}

struct NormParams {
  chunk_base: u32,
  chunk_count: u32,
  partial_base: u32,
  // norm_finalize: number of partial sums and the clipping threshold.
  partial_count: u32,
  max_norm: f32,
}

const WG: u32 = 256u; // = @workgroup_size below

// Arenas are bound as vec4 arrays: chunks start at multiples of 64 elements, so every chunk is
// whole vec4s except the last few elements of a parameter (done element by element). On CPU
// adapters a storage access costs per invocation as much as per value (see unary.wgsl).
@group(0) @binding(0) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> moment1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> moment2: array<vec4<f32>>;
// (arena offset, length) per chunk.
@group(0) @binding(4) var<storage, read> chunks: array<vec2<u32>>;
// (total gradient norm, clipping scale), written by norm_finalize.
@group(0) @binding(5) var<storage, read> clip: array<f32>;
@group(0) @binding(6) var<uniform> u: UpdateParams;

struct AdamState { x: vec4<f32>, m: vec4<f32>, v: vec4<f32> }

fn adam_step(g_in: vec4<f32>, x_in: vec4<f32>, m_old: vec4<f32>, v_old: vec4<f32>, scale: f32) -> AdamState {
  var g = g_in * scale;
  var x = x_in;
  if (u.decoupled != 0u) { x = x * u.decay_mul; } else { g = g + u.weight_decay * x; }
  // torch.optim.Adam: exp_avg.lerp_(g, 1 − β1); exp_avg_sq.mul_(β2).addcmul_(g, g, 1 − β2)
  let m = m_old + u.one_minus_beta1 * (g - m_old);
  let v = u.beta2 * v_old + u.one_minus_beta2 * g * g;
  return AdamState(x - u.step_size * m / (sqrt(v) * u.inv_bc2_sqrt + u.eps), m, v);
}

@compute @workgroup_size(256)
fn update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * u.wg_stride;
  if (w >= u.chunk_count) { return; }
  let ch = chunks[u.chunk_base + w];
  var scale = 1.0;
  if (u.use_clip != 0u) { scale = clip[1]; }
  let base = ch.x / 4u;
  let full = ch.y / 4u;
  for (var k = lid; k < full; k += WG) {
    let i = base + k;
    let s = adam_step(grad[i], param[i], moment1[i], moment2[i], scale);
    moment1[i] = s.m;
    moment2[i] = s.v;
    param[i] = s.x;
  }
  if (lid == 0u) {
    let i = base + full;
    for (var j = 4u * full; j < ch.y; j++) {
      let c = j & 3u;
      let s = adam_step(vec4<f32>(grad[i][c]), vec4<f32>(param[i][c]), vec4<f32>(moment1[i][c]), vec4<f32>(moment2[i][c]), scale);
      moment1[i][c] = s.m.x;
      moment2[i][c] = s.v.x;
      param[i][c] = s.x.x;
    }
  }
}

@group(0) @binding(7) var<storage, read_write> partials: array<f32>;
@group(0) @binding(8) var<storage, read_write> clip_out: array<f32>;
@group(0) @binding(9) var<uniform> q: NormParams;

// Σ g² over chunks w, w + G, w + 2G, … (G = the number of workgroups, at most a few hundred so
// the tree reductions stay few) into partials[partial_base + w].
@compute @workgroup_size(256)
fn norm_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var c = wid.x; c < q.chunk_count; c += nwg.x) {
    let ch = chunks[q.chunk_base + c];
    let base = ch.x / 4u;
    let full = ch.y / 4u;
    for (var k = lid; k < full; k += WG) {
      let g = grad[base + k];
      acc += dot(g, g);
    }
    if (lid == 0u) {
      for (var j = 4u * full; j < ch.y; j++) {
        let g = grad[base + full][j & 3u];
        acc += g * g;
      }
    }
  }
  let total = workgroup_sum(acc, lid);
  if (lid == 0u) { partials[q.partial_base + wid.x] = total; }
}

// One workgroup: norm = √Σ partials; scale = max_norm / (norm + 1e-6), clamped to at most 1
// (torch.nn.utils.clip_grad_norm_).
@compute @workgroup_size(256)
fn norm_finalize(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var k = lid; k < q.partial_count; k += WG) { acc += partials[k]; }
  let total = workgroup_sum(acc, lid);
  if (lid == 0u) {
    let norm = sqrt(total);
    clip_out[0] = norm;
    clip_out[1] = min(q.max_norm / (norm + 1e-6), 1.0);
  }
}
