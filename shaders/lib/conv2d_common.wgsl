// What the conv2d kernels share (shaders/conv2d.wgsl and shaders/conv2d_depthwise.wgsl): the
// geometry uniform, the kernel size, the bounds of the per-invocation arrays and the workgroup tree
// over per-invocation partial sums. The including shader declares `override WG: u32` (its
// reduction workgroup size, a power of two ≤ MAX_WG) and binds `p: ConvParams` and `x: array<f32>`.

struct ConvParams {
  batch: u32, cin: u32, h: u32, w: u32,
  cout: u32, ho: u32, wo: u32, cig: u32,          // cig = Ci / groups
  cog: u32, stride_h: u32, pad_h: u32, pad_w: u32, // cog = Co / groups
  has_bias: u32, tiles_w: u32, tiles_c: u32, wg_stride: u32,
  n0: u32,  // im2col / col2im: first image of the chunk
}

override KH: u32 = 3u;
override KW: u32 = 3u;
const MAX_WIN: u32 = 40u;  // input window of 4 outputs: 3·SW + KW values
const MAX_ACC: u32 = 32u;  // grad_weight accumulators: TO·TI·RH·KW
const MAX_WG: u32 = 64u;

// x[row + i] for 0 <= i < len, else 0 (zero padding).
fn conv_load_x(row: u32, i: i32, len: u32) -> f32 {
  return select(0.0, x[row + u32(clamp(i, 0, i32(len) - 1))], i >= 0 && i < i32(len));
}

var<workgroup> conv_partials: array<f32, MAX_WG * MAX_ACC>;

// Tree-reduces `count` per-invocation values (stored at conv_partials[v·WG + lid]) into conv_partials[v·WG].
fn reduce_partials(lid: u32, count: u32) {
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      for (var v = 0u; v < count; v++) { conv_partials[v * WG + lid] += conv_partials[v * WG + lid + s]; }
    }
    workgroupBarrier();
  }
}
