// Finite stand-in for -inf as the start of a running max: exp(start − m) is then 0, never NaN.
const NEG_BIG: f32 = -3.0e38;
