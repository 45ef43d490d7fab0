import { defineConfig } from 'vitest/config';

// WGSL files are imported as text (`with { type: 'text' }` in Bun); give Vite the same behaviour.
const wgslText = {
  name: 'wgsl-text',
  transform(code: string, id: string) {
    if (id.endsWith('.wgsl')) return { code: `export default ${JSON.stringify(code)};`, map: null };
    return null;
  },
};

/**
 * The adapter test matrix, declared once. `default`: every test on the adapter LRDIF_ADAPTER picks
 * (auto: a hardware GPU if there is one, else llvmpipe). `swiftshader`: the op tests again on
 * SwiftShader, Chromium's software adapter (another compiler, other limits). `npm test` runs both,
 * the second after the first (groupOrder); `--project <name>` runs one.
 */
const SWIFTSHADER_TESTS = [
  'elementwise', 'reduce', 'matmul', 'autograd', 'layout', 'gather', 'random', 'softmax', 'layernorm',
  'losses', 'adam', 'axpy', 'fill', 'conv2d',
].map((name) => `test/${name}.test.ts`);

export default defineConfig({
  plugins: [wgslText],
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One WebGPU device per worker; llvmpipe already uses every core, so run files one at a time.
    fileParallelism: false,
    projects: [
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'swiftshader', include: SWIFTSHADER_TESTS, env: { LRDIF_ADAPTER: 'swiftshader' }, sequence: { groupOrder: 1 } } },
    ],
  },
});
