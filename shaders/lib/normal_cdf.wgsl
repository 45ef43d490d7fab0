// Standard normal density φ(v) and CDF Φ(v) on four values at once, for the exact (erf) GELU
// v·Φ(v) and its derivative Φ(v) + v·φ(v). unary.wgsl and the fused gated_dwconv.wgsl both use
// them, so the fused GELU agrees with the core one.
fn normal_pdf(value: vec4<f32>) -> vec4<f32> {
  return 0.3989422804014327 * exp(-0.5 * value * value);
}

// Φ(v) = ½·erfc(−v/√2) = ½·erfc(−v/√2), from the Numerical Recipes erfc fit (fractional
// error < 1.2e-7 everywhere). Computing erfc directly keeps Φ accurate in the far left tail,
// where 1 + erf(·) would cancel. WGSL has no erf builtin.
fn erfc_pos(z: vec4<f32>) -> vec4<f32> {
  let t = 1.0 / (1.0 + 0.5 * z);
  return t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
         t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
         t * (-0.82215223 + t * 0.17087277)))))))));
}

fn normal_cdf(value: vec4<f32>) -> vec4<f32> {
  let half_erfc = 0.5 * erfc_pos(abs(value) * 0.70710678118654752);
  return select(half_erfc, 1.0 - half_erfc, value >= vec4<f32>(0.0));
}
