// Sum of a vec4's lanes, paired so that the rounding does not depend on the adapter.
fn hsum(value: vec4<f32>) -> f32 { return (value.x + value.y) + (value.z + value.w); }
