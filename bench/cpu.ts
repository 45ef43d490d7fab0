/**
 * The CPU's physical f32 arithmetic limit, from its own description (/proc/cpuinfo): logical
 * cores × clock × SIMD f32 lanes × FMA units × 2 FLOPs per FMA. A CPU adapter (llvmpipe,
 * SwiftShader) can never exceed it, so CPU-adapter results are also stated as a fraction of it.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface CpuPeak {
  model: string;
  cores: number;
  ghz: number;
  /** Where the clock came from: the maximum frequency in sysfs, or cpuinfo's current "cpu MHz". */
  clockSource: string;
  simd: string;
  lanes: number;
  fmaUnits: number;
  gflops: number;
  formula: string;
}

/**
 * Parses cpuinfo text. FMA units per core: 2 where the CPU has FMA (every x86 core with FMA3 since
 * Haswell / Zen 1 issues two FMAs per cycle), else 1 (a multiply and an add count as one FMA slot).
 */
export function cpuPeakFromInfo(cpuinfo: string, maxKHz?: number): CpuPeak {
  const blocks = cpuinfo.split(/\n\s*\n/).filter((b) => /^processor\s*:/m.test(b));
  const field = (name: string) => blocks[0]?.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim() ?? '';
  const cores = Math.max(1, blocks.length);
  const flags = new Set((field('flags') || field('Features')).split(/\s+/));
  const mhz = parseFloat(field('cpu MHz')) || 0;
  const ghz = maxKHz ? maxKHz / 1e6 : mhz / 1000;
  const simd = flags.has('avx512f') ? 'AVX-512' : flags.has('avx2') || flags.has('avx') ? 'AVX2' : flags.has('sse2') ? 'SSE2' : flags.has('asimd') ? 'NEON' : 'scalar';
  const lanes = simd === 'AVX-512' ? 16 : simd === 'AVX2' ? 8 : simd === 'scalar' ? 1 : 4;
  const fmaUnits = flags.has('fma') || flags.has('asimd') ? 2 : 1;
  const gflops = cores * ghz * lanes * fmaUnits * 2;
  const formula = `${cores} cores × ${ghz.toFixed(3)} GHz × ${lanes} f32 lanes (${simd}) × ${fmaUnits} FMA units × 2 FLOP/FMA = ${gflops.toFixed(1)} GFLOP/s`;
  return { model: field('model name') || 'unknown CPU', cores, ghz, clockSource: maxKHz ? 'cpuinfo_max_freq' : 'cpuinfo "cpu MHz"', simd, lanes, fmaUnits, gflops, formula };
}

/** Reads this machine's CPU peak, or null where /proc/cpuinfo is missing (not Linux). */
export function cpuPeak(): CpuPeak | null {
  if (!existsSync('/proc/cpuinfo')) return null;
  const maxPath = '/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq';
  const maxKHz = existsSync(maxPath) ? parseInt(readFileSync(maxPath, 'utf8'), 10) : undefined;
  return cpuPeakFromInfo(readFileSync('/proc/cpuinfo', 'utf8'), maxKHz);
}
