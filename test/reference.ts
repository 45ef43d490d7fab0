/** float64 reference functions shared by several test files. */

/** erfc: Taylor series of erf near 0, continued fraction in the tail. */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    let sum = x;
    let term = x;
    for (let n = 1; n < 60; n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  let k = x;
  for (let n = 80; n >= 1; n--) k = x + n / 2 / k;
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * k);
}

/** Standard normal CDF. */
export const phi = (v: number) => 0.5 * erfc(-v / Math.SQRT2);
/** Exact (erf) GELU and its derivative. */
export const geluRef = (v: number) => v * phi(v);
export const geluGradRef = (v: number) => phi(v) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI);
