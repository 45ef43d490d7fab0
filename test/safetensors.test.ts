import { describe, it, expect } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type StTensor } from '../src/model/safetensors.ts';
import { freshSeed, randn, rng } from './helpers.ts';

function sample(seed: number): Map<string, StTensor> {
  const r = rng(seed);
  return new Map<string, StTensor>([
    ['dt.patch_embed.weight', { dtype: 'F32', shape: [4, 12, 3, 3], data: Float32Array.from(randn(r, 4 * 12 * 9)) }],
    ['fusion.head.bias', { dtype: 'F32', shape: [7], data: Float32Array.from(randn(r, 7)) }],
    ['step', { dtype: 'U32', shape: [1], data: Uint32Array.from([12345]) }],
    ['empty', { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) }],
  ]);
}

/* eslint-disable @typescript-eslint/no-explicit-any */
/** A safetensors file's JSON header, and a function that writes the same data under another header. */
function headerOf(bytes: Uint8Array): { header: Record<string, any>; rebuild: (h: unknown) => Uint8Array } {
  const hlen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen)));
  const rebuild = (h: unknown) => {
    const hb = new TextEncoder().encode(JSON.stringify(h));
    const out = new Uint8Array(8 + hb.length + (bytes.length - 8 - hlen));
    new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
    out.set(hb, 8);
    out.set(bytes.subarray(8 + hlen), 8 + hb.length);
    return out;
  };
  return { header, rebuild };
}

describe('safetensors', () => {
  it('round trip is bitwise, with metadata, and the data section is 8-byte aligned', () => {
    const t = sample(freshSeed('safetensors'));
    const bytes = encodeSafetensors(t, { preset: 'tiny', config: '{"a":1}' });
    const hlen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + hlen) % 8).toBe(0);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ preset: 'tiny', config: '{"a":1}' });
    expect([...back.tensors.keys()]).toEqual([...t.keys()]);
    for (const [k, v] of t) {
      const w = back.tensors.get(k)!;
      expect(w.shape).toEqual(v.shape);
      expect(w.dtype).toBe(v.dtype);
      expect(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength)).toEqual(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
    }
  });

  it('rejects truncated files, bad headers and lying offsets with clear messages', () => {
    const bytes = encodeSafetensors(sample(1));
    expect(() => decodeSafetensors(bytes.subarray(0, 5), 'a.safetensors')).toThrow(/a\.safetensors: truncated/);
    expect(() => decodeSafetensors(bytes.subarray(0, 40), 'b.safetensors')).toThrow(/b\.safetensors: header length \d+ runs past the end/);
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4), 'c.safetensors')).toThrow(/c\.safetensors: tensor .* lie outside|cover/);
    const { header, rebuild } = headerOf(bytes);
    const lie = structuredClone(header);
    lie['fusion.head.bias'].data_offsets = [0, 28]; // overlaps the first tensor
    expect(() => decodeSafetensors(rebuild(lie), 'd.safetensors')).toThrow(/d\.safetensors: tensor .* starts at byte|overlapping/);
    const wrongShape = structuredClone(header);
    wrongShape['fusion.head.bias'].shape = [8];
    expect(() => decodeSafetensors(rebuild(wrongShape), 'e.safetensors')).toThrow(/e\.safetensors: tensor fusion\.head\.bias spans 28 bytes but shape \[8\]/);
    const badType = structuredClone(header);
    badType['fusion.head.bias'].dtype = 'F16';
    expect(() => decodeSafetensors(rebuild(badType), 'f.safetensors')).toThrow('f.safetensors: tensor fusion.head.bias has dtype "F16"; supported: F32, I32, U32');
    const notJson = new Uint8Array(16);
    new DataView(notJson.buffer).setBigUint64(0, 8n, true);
    notJson.set(new TextEncoder().encode('{garbage'), 8);
    expect(() => decodeSafetensors(notJson, 'g.safetensors')).toThrow(/g\.safetensors: header is not valid JSON/);
  });

  it('rejects null or mistyped entries and metadata, bad header lengths and non-UTF-8 headers, naming the file', () => {
    const bytes = encodeSafetensors(sample(2), { a: 'b' });
    const { header, rebuild } = headerOf(bytes);
    const cases: [unknown, string][] = [
      [{ ...header, step: null }, 'x.safetensors: tensor step: header entry is null, expected {dtype, shape, data_offsets}'],
      [{ ...header, __metadata__: null }, 'x.safetensors: __metadata__ is null, expected an object of strings'],
      [{ ...header, __metadata__: 'text' }, 'x.safetensors: __metadata__ is "text", expected an object of strings'],
      [{ ...header, __metadata__: { a: 1 } }, 'x.safetensors: metadata "a" is 1, expected a string'],
      [{ ...header, __metadata__: { a: ['b'] } }, 'x.safetensors: metadata "a" is an array, expected a string'],
      [{ ...header, step: { ...header.step, shape: [1.5] } }, 'x.safetensors: tensor step has an invalid shape [1.5]'],
      [{ ...header, step: { ...header.step, data_offsets: [0] } }, 'x.safetensors: tensor step has invalid data_offsets [0]'],
      [[], 'x.safetensors: header is an array, expected a JSON object'],
    ];
    for (const [h, message] of cases) expect(() => decodeSafetensors(rebuild(h), 'x.safetensors'), message).toThrow(message);
    const withLength = (n: bigint) => {
      const out = bytes.slice();
      new DataView(out.buffer).setBigUint64(0, n, true);
      return out;
    };
    expect(() => decodeSafetensors(withLength(0n), 'x.safetensors')).toThrow('x.safetensors: header length is 0');
    expect(() => decodeSafetensors(withLength(2n ** 63n), 'x.safetensors')).toThrow(/x\.safetensors: header length \d+ exceeds the 104857600-byte limit/);
    const notUtf8 = bytes.slice();
    notUtf8[9] = 0xff;
    expect(() => decodeSafetensors(notUtf8, 'x.safetensors')).toThrow('x.safetensors: header is not valid UTF-8');
    // A valid file still decodes after all that (the control).
    expect(decodeSafetensors(rebuild(header), 'x.safetensors').metadata).toEqual({ a: 'b' });
  });
});
