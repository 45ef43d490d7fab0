// Under-display-camera degradation (udc.ts, which registers this kernel with the engine), around a
// depthwise conv2d with the PSF.
// Per image b the host uploads 8 floats: transmittance R, G, B, camera gain, shot variance a, read
// variance b, and two unused slots.
// attenuate_pad: linearise (x^gamma), attenuate per channel and write a replicate-padded copy so the
//   following valid convolution sees edge pixels continued instead of black borders.
// expose_quantise: sensor noise (variance a·s + b on the attenuated signal s), camera gain, clamp,
//   re-encode (^(1/gamma)) and 8-bit quantisation.
struct Params {
  batch: u32, h: u32, w: u32, pad: u32,
  n: u32, stride: u32, gamma: f32, pad0: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> image_params: array<f32>;
@group(0) @binding(2) var<storage, read> noise: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// One invocation per padded output element of [B, 3, H + 2·pad, W + 2·pad].
@compute @workgroup_size(256)
fn attenuate_pad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  let wp = p.w + 2u * p.pad;
  let hp = p.h + 2u * p.pad;
  let xo = i % wp;
  let yo = (i / wp) % hp;
  let plane = i / (wp * hp);
  let b = plane / 3u;
  let c = plane % 3u;
  let x = u32(clamp(i32(xo) - i32(p.pad), 0i, i32(p.w) - 1i));
  let y = u32(clamp(i32(yo) - i32(p.pad), 0i, i32(p.h) - 1i));
  let v = clamp(src[(plane * p.h + y) * p.w + x], 0.0, 1.0);
  // pow(0, g) is undefined in WGSL: zero stays zero explicitly.
  let lin = select(select(0.0, pow(v, p.gamma), v > 0.0), v, p.gamma == 1.0);
  dst[i] = image_params[b * 8u + c] * lin;
}

// One invocation per output element of [B, 3, H, W]; src is the blurred attenuated signal.
@compute @workgroup_size(256)
fn expose_quantise(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  let b = i / (3u * p.h * p.w);
  let gain = image_params[b * 8u + 3u];
  let shot = image_params[b * 8u + 4u];
  let read_var = image_params[b * 8u + 5u];
  let s = src[i];
  let sigma = sqrt(max(shot * max(s, 0.0) + read_var, 0.0));
  let y = clamp(gain * (s + sigma * noise[i]), 0.0, 1.0);
  let enc = select(select(0.0, pow(y, 1.0 / p.gamma), y > 0.0), y, p.gamma == 1.0);
  dst[i] = round(enc * 255.0) / 255.0;
}
