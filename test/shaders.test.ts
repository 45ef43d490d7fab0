import { describe, it, expect } from 'vitest';
import { mapWgslMessage, resolveIncludes, type WgslFile } from '../src/engine/wgsl-include.ts';
import { readdirSync } from 'node:fs';
import { opCodeWgsl, resolveShader, shaderFile, SHADER_NAMES, SHADER_PATHS, SHADERS } from '../src/engine/shaders.ts';
import { BINARY_OPS, OP_CODE_TABLES, RANDOM_MODES, REDUCE_OPS, UNARY_OPS } from '../src/engine/op-codes.ts';
import { expectClose, freshSeed, getEngine, randn, read, rng } from './helpers.ts';

/** An include lookup over in-memory files (paths relative to a fake shaders/). */
function files(map: Record<string, string>): (path: string) => WgslFile | undefined {
  return (path) => (path in map ? { text: map[path]!, path: `fake/${path}` } : undefined);
}

describe('WGSL includes', () => {
  it('puts an included file right after its directive and maps every line back to its file', () => {
    const src = files({
      'main.wgsl': 'fn main_top() {}\n// #include "lib/a.wgsl"\nfn main_bottom() {}',
      'lib/a.wgsl': '// #include "lib/b.wgsl"\nfn a() {}',
      'lib/b.wgsl': 'fn b() {}',
    });
    const r = resolveIncludes('main.wgsl', src);
    expect(r.code.split('\n')).toEqual([
      'fn main_top() {}',
      '// #include "lib/a.wgsl"',
      '// #include "lib/b.wgsl"',
      'fn b() {}',
      'fn a() {}',
      'fn main_bottom() {}',
    ]);
    expect(r.lines).toEqual([
      { path: 'fake/main.wgsl', line: 1 },
      { path: 'fake/main.wgsl', line: 2 },
      { path: 'fake/lib/a.wgsl', line: 1 },
      { path: 'fake/lib/b.wgsl', line: 1 },
      { path: 'fake/lib/a.wgsl', line: 2 },
      { path: 'fake/main.wgsl', line: 3 },
    ]);
  });

  it('includes each file once, however many files include it', () => {
    const src = files({
      'main.wgsl': '// #include "lib/a.wgsl"\n// #include "lib/b.wgsl"\n// #include "lib/a.wgsl"\nfn main() {}',
      'lib/a.wgsl': 'const A: u32 = 1u;',
      'lib/b.wgsl': '// #include "lib/a.wgsl"\nconst B: u32 = A;',
    });
    const r = resolveIncludes('main.wgsl', src);
    expect(r.code.match(/const A:/g)).toHaveLength(1);
    expect(r.code.match(/const B:/g)).toHaveLength(1);
    expect(r.code.indexOf('const A:')).toBeLessThan(r.code.indexOf('const B:'));
    expect(r.lines).toHaveLength(r.code.split('\n').length);
  });

  it('names the including file and line for a missing file', () => {
    const src = files({ 'main.wgsl': 'fn main() {}\n\n// #include "lib/nope.wgsl"' });
    expect(() => resolveIncludes('main.wgsl', src)).toThrow(/^fake\/main\.wgsl:3: #include "lib\/nope\.wgsl": no such WGSL file/);
  });

  it('names the file, line and chain of an include cycle', () => {
    const src = files({
      'main.wgsl': '// #include "lib/a.wgsl"',
      'lib/a.wgsl': 'fn a() {}\n// #include "lib/b.wgsl"',
      'lib/b.wgsl': '// #include "lib/a.wgsl"',
    });
    expect(() => resolveIncludes('main.wgsl', src)).toThrow('fake/lib/b.wgsl:1: #include "lib/a.wgsl" makes a cycle: lib/a.wgsl → lib/b.wgsl → lib/a.wgsl');
    const self = files({ 'main.wgsl': 'fn main() {}\n// #include "main.wgsl"' });
    expect(() => resolveIncludes('main.wgsl', self)).toThrow('fake/main.wgsl:2: #include "main.wgsl" makes a cycle: main.wgsl → main.wgsl');
  });

  it('rejects a malformed directive instead of skipping it', () => {
    const src = files({ 'main.wgsl': '// #include lib/a.wgsl\nfn main() {}', 'lib/a.wgsl': '' });
    expect(() => resolveIncludes('main.wgsl', src)).toThrow(/^fake\/main\.wgsl:1: malformed include/);
  });

  it('maps Tint and wgsl_reflect line numbers to the original file and line', () => {
    const r = resolveIncludes('main.wgsl', files({ 'main.wgsl': 'fn m() {}\n// #include "lib/a.wgsl"\nfn z() {}', 'lib/a.wgsl': 'fn a() {}\nfn b() {}' }));
    // Resolved lines: 1 main:1, 2 main:2, 3 a:1, 4 a:2, 5 main:3.
    const tint = "Error while parsing WGSL: :4:7 error: cannot initialize 'let'\n  let a: f32 = 1u;\n      ^\n\n:5:1 note: here";
    expect(mapWgslMessage(tint, r)).toBe("Error while parsing WGSL: fake/lib/a.wgsl:2:7 error: cannot initialize 'let'\n  let a: f32 = 1u;\n      ^\n\nfake/main.wgsl:3:1 note: here");
    expect(mapWgslMessage('Expected argument name.. Line: 3', r)).toBe('Expected argument name.. at fake/lib/a.wgsl:1');
    expect(mapWgslMessage(':99:1 error: past the end', r)).toBe(':99:1 error: past the end');
  });
});

/** Non-entry functions and consts of a WGSL file: name → whitespace-normalised definition. */
function helpers(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const c = /^const ([A-Za-z_0-9]+)/.exec(lines[i]!);
    if (c) out.set(c[1]!, lines[i]!.replace(/\s+/g, ' '));
    const f = /^fn ([a-z_0-9]+)\(/.exec(lines[i]!);
    if (!f || (lines[i - 1] ?? '').includes('@compute')) continue;
    let depth = 0;
    let body = '';
    for (let j = i; j < lines.length; j++) {
      const code = lines[j]!.replace(/\/\/.*$/, '');
      body += `${code} `;
      depth += (code.match(/{/g) ?? []).length - (code.match(/}/g) ?? []).length;
      if (depth === 0 && body.includes('{')) break;
    }
    out.set(f[1]!, body.replace(/\s+/g, ' '));
  }
  return out;
}

describe('bundled shaders', () => {
  const raw = SHADER_NAMES.map((name) => [name, shaderFile(`${name}.wgsl`)!.text] as const);
  // Every lib file some kernel includes, directly or through another lib file.
  const included = new Set<string>();
  const collect = (text: string) => {
    for (const m of text.matchAll(/#include "(lib\/[^"]+)"/g)) {
      if (!included.has(m[1]!)) {
        included.add(m[1]!);
        collect(shaderFile(m[1]!)!.text);
      }
    }
  };
  for (const [, text] of raw) collect(text);
  const libs = [...included].sort();

  it('every .wgsl file under shaders/ is bundled', () => {
    const onDisk = (readdirSync(new URL('../shaders', import.meta.url), { recursive: true }) as string[]).filter((p) => p.endsWith('.wgsl')).map((p) => p.replaceAll('\\', '/'));
    expect([...SHADER_PATHS].sort()).toEqual(onDisk.sort());
  });

  it('every kernel shader resolves, with a line map that matches its code', () => {
    expect(SHADER_NAMES.length).toBeGreaterThan(20);
    for (const name of SHADER_NAMES) {
      const r = resolveShader(name);
      expect(r.code, name).toBe(SHADERS[name]);
      expect(r.lines, name).toHaveLength(r.code.split('\n').length);
      for (const [i, line] of r.code.split('\n').entries()) {
        const origin = r.lines[i]!;
        const file = origin.path.startsWith('shaders/') ? shaderFile(origin.path.slice('shaders/'.length))! : shaderFile(origin.path.split(' ')[0]!)!;
        expect(file.text.split('\n')[origin.line - 1], `${name} line ${i + 1}`).toBe(line);
      }
    }
  });

  it('the shared helpers are defined once, in shaders/lib, and every lib file is used', () => {
    expect(libs).toEqual(SHADER_PATHS.filter((p) => p.startsWith('lib/')).sort());
    expect(libs).toEqual(expect.arrayContaining(['lib/hsum.wgsl', 'lib/neg_big.wgsl', 'lib/normal_cdf.wgsl', 'lib/row_reduce.wgsl', 'lib/workgroup_sum.wgsl', 'lib/channel_base.wgsl', 'lib/strided_index.wgsl']));
    const definedIn = new Map<string, string[]>();
    const bodies = new Map<string, string[]>();
    for (const [path, text] of [...raw.map(([n, t]) => [`${n}.wgsl`, t] as const), ...libs.map((p) => [p, shaderFile(p)!.text] as const)]) {
      for (const [name, body] of helpers(text)) {
        definedIn.set(name, [...(definedIn.get(name) ?? []), path]);
        if (body.startsWith('fn ')) bodies.set(body, [...(bodies.get(body) ?? []), path]);
      }
    }
    for (const lib of libs) {
      for (const name of helpers(shaderFile(lib)!.text).keys()) expect(definedIn.get(name), `${name} of ${lib}`).toEqual([lib]);
    }
    for (const name of ['hsum', 'NEG_BIG', 'erfc_pos', 'normal_cdf', 'reduce_row', 'workgroup_sum', 'channel_base', 'strided_offsets']) {
      expect(definedIn.get(name), name).toHaveLength(1);
    }
    // The same function written out in two files belongs in lib/.
    for (const [body, paths] of bodies) expect(paths, body.slice(0, 80)).toHaveLength(1);
  });

  it('no lib helper names a parameter or local after a binding of a kernel that includes it', async () => {
    // wgsl_reflect finds an entry point's bindings by name, ignoring scopes: a helper parameter
    // called like a binding would make every entry point that calls the helper ask for it.
    const { WgslReflect } = await import('wgsl_reflect');
    const locals = (text: string): string[] => [
      ...[...text.matchAll(/^fn \w+\(([^)]*)\)/gm)].flatMap((m) => [...m[1]!.matchAll(/(\w+)\s*:/g)].map((p) => p[1]!)),
      ...[...text.matchAll(/\b(?:let|var)\s+(\w+)/g)].map((m) => m[1]!),
    ];
    expect(locals(shaderFile('lib/row_reduce.wgsl')!.text)).toEqual(expect.arrayContaining(['value', 'lid', 'how', 'lane', 'span']));
    for (const name of SHADER_NAMES) {
      const bindings = new WgslReflect(SHADERS[name]!).getBindGroups().flat().filter((b) => b).map((b) => b!.name);
      const libPaths = new Set(resolveShader(name).lines.map((l) => l.path).filter((p) => p.startsWith('shaders/lib/')));
      for (const lib of libPaths) {
        const clash = locals(shaderFile(lib.slice('shaders/'.length))!.text).filter((id) => bindings.includes(id));
        expect(clash, `${lib} in ${name}`).toEqual([]);
      }
    }
  });

  it('no kernel declares a binding that none of its entry points uses', async () => {
    const { WgslReflect } = await import('wgsl_reflect');
    for (const name of SHADER_NAMES) {
      const reflect = new WgslReflect(SHADERS[name]!);
      const used = new Set(reflect.entry.compute.flatMap((ep) => ep.resources.map((r) => r.name)));
      const declared = reflect.getBindGroups().flat().filter((b) => b).map((b) => b!.name);
      expect(declared.filter((b) => !used.has(b)), name).toEqual([]);
    }
  });
});

describe('op codes generated from the TypeScript tables', () => {
  it('each table becomes one u32 constant per op', () => {
    const wgsl = opCodeWgsl(UNARY_OPS, 'OP_', 'UNARY_OPS');
    expect(wgsl.split('\n')).toHaveLength(Object.keys(UNARY_OPS).length + 1);
    expect(wgsl).toContain('const OP_AFFINE: u32 = 0u;');
    expect(wgsl).toContain(`const OP_LEAKY_RELU: u32 = ${UNARY_OPS.leakyRelu}u;`);
    expect(wgsl).toContain(`const OP_ABS: u32 = ${UNARY_OPS.abs}u;`);
  });

  it('the shaders that switch on an op include the generated table and hard-code no codes', () => {
    const uses: [string, string, Readonly<Record<string, number>>, string][] = [
      ['unary', 'gen/unary_ops.wgsl', UNARY_OPS, 'OP_'],
      ['binary', 'gen/binary_ops.wgsl', BINARY_OPS, 'OP_'],
      ['reduce', 'gen/reduce_ops.wgsl', REDUCE_OPS, 'OP_'],
      ['random', 'gen/random_modes.wgsl', RANDOM_MODES, 'MODE_'],
    ];
    expect(uses.map((u) => u[1]).sort()).toEqual(Object.keys(OP_CODE_TABLES).sort());
    for (const [shader, gen, table, prefix] of uses) {
      const code = SHADERS[shader]!;
      expect(code, shader).toContain(`// #include "${gen}"`);
      for (const [op, n] of Object.entries(table)) {
        const constant = `${prefix}${op.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`;
        expect(code, `${shader} ${op}`).toContain(`const ${constant}: u32 = ${n}u;`);
      }
      // The switch on OP/MODE compares with the generated names, never with literals.
      const own = shaderFile(`${shader}.wgsl`)!.text;
      expect(own.match(/(?:case|OP ==|MODE ==)\s*\d+u?\b/g), shader).toBeNull();
    }
  });
});

describe('kernels through the engine', () => {
  it('a registered kernel may include lib files and runs like a bundled one', async () => {
    const e = await getEngine();
    e.kernels.register('test_hsum', [
      '// #include "lib/hsum.wgsl"',
      '@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;',
      '@group(0) @binding(1) var<storage, read_write> out: array<f32>;',
      '@compute @workgroup_size(64)',
      'fn main(@builtin(global_invocation_id) gid: vec3<u32>) {',
      '  if (gid.x < arrayLength(&out)) { out[gid.x] = hsum(x[gid.x]); }',
      '}',
    ].join('\n'), 'test/shaders.test.ts (test_hsum)');
    const n = 37;
    const xs = randn(rng(freshSeed('registered hsum')), 4 * n);
    const x = e.tensor(Float32Array.from(xs), [n, 4]);
    const out = e.empty([n]);
    e.dispatch('test_hsum', { bindings: { x, out }, workgroups: [1] });
    const want = Array.from({ length: n }, (_, i) => Math.fround(xs[4 * i]!) + Math.fround(xs[4 * i + 1]!) + Math.fround(xs[4 * i + 2]!) + Math.fround(xs[4 * i + 3]!));
    expectClose(await read(out), want, 1e-6, 'registered hsum');
    expect(() => e.kernels.register('softmax', '')).toThrow(/already registered/);
  });

  it('a compile error names the original file and line, also inside an included file', async () => {
    const e = await getEngine();
    // The error is on line 3 of the registered file, which sits at resolved line 5 (after hsum's 2).
    e.kernels.register('test_broken', [
      '// #include "lib/hsum.wgsl"',
      '@group(0) @binding(0) var<storage, read_write> out: array<f32>;',
      'fn bad() -> f32 { let a: f32 = 1u; return a; }',
      '@compute @workgroup_size(1)',
      'fn main() { out[0] = bad(); }',
    ].join('\n'), 'test/broken.wgsl');
    e.kernel('test_broken');
    await expect(e.sync()).rejects.toThrow(/test\/broken\.wgsl: WGSL compilation failed: .*test\/broken\.wgsl:3:\d+ error/s);

    // Here the error is in an included file: test_broken_lib.wgsl line 2.
    e.kernels.register('test_broken_lib', 'fn fine() {}\nfn bad() -> u32 { return 1.5; }', 'test/broken_lib.wgsl');
    e.kernels.register('test_includes_broken', [
      '// #include "lib/neg_big.wgsl"',
      '// #include "test_broken_lib.wgsl"',
      '@group(0) @binding(0) var<storage, read_write> out: array<u32>;',
      '@compute @workgroup_size(1)',
      'fn main() { out[0] = bad(); }',
    ].join('\n'), 'test/includes_broken.wgsl');
    e.kernel('test_includes_broken');
    const err = await e.sync().then(() => null, (x: Error) => x);
    expect(err?.message).toMatch(/^test\/includes_broken\.wgsl: WGSL compilation failed: .*test\/broken_lib\.wgsl:2:\d+ error/s);
    expect(err?.message).not.toMatch(/(^|\s):\d+:\d+ error/);
    // The engine is usable afterwards.
    await e.sync();
  });

  it('a broken include in a bundled-style kernel is an error naming the file and line', async () => {
    const e = await getEngine();
    e.kernels.register('test_missing_include', 'fn main() {}\n// #include "lib/no_such_helper.wgsl"', 'test/missing.wgsl');
    expect(() => e.kernel('test_missing_include')).toThrow(/^test\/missing\.wgsl:2: #include "lib\/no_such_helper\.wgsl": no such WGSL file/);
  });
});
