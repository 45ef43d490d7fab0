import { defineConfig } from 'vitest/config';

// WGSL files are imported as text (`with { type: 'text' }` in Bun); give Vite the same behaviour.
const wgslText = {
  name: 'wgsl-text',
  transform(code: string, id: string) {
    if (id.endsWith('.wgsl')) return { code: `export default ${JSON.stringify(code)};`, map: null };
    return null;
  },
};

export default defineConfig({
  plugins: [wgslText],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One WebGPU device per worker; llvmpipe already uses every core, so run files one at a time.
    fileParallelism: false,
  },
});
