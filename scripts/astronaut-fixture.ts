/**
 * Rebuilds test/fixtures/astronaut-face.png: a 112×112 face crop of scikit-image's astronaut.png
 * (Eileen Collins, NASA, public domain; Debian package python3-skimage).
 *
 *   bun scripts/astronaut-fixture.ts [/usr/lib/python3/dist-packages/skimage/data/astronaut.png]
 *
 * The crop is the square (x 150, y 42, side 150) around the face, area-averaged down to 112×112.
 */
import { writeFileSync } from 'node:fs';
import { readImageFileRgb } from '../src/train/data/images.ts';
import { encodePng } from '../src/train/data/png.ts';

export const ASTRONAUT_FACE_BOX = { x: 150, y: 42, side: 150 } as const;
const OUT = 112;

const src = process.argv[2] ?? '/usr/lib/python3/dist-packages/skimage/data/astronaut.png';
const img = await readImageFileRgb(src);
const { x: bx, y: by, side } = ASTRONAUT_FACE_BOX;
const out = new Uint8Array(4 * OUT * OUT);
const scale = side / OUT;
// Area average: each output pixel integrates the source pixels it covers, weighted by overlap.
for (let oy = 0; oy < OUT; oy++) {
  for (let ox = 0; ox < OUT; ox++) {
    const y0 = oy * scale;
    const x0 = ox * scale;
    const acc = [0, 0, 0];
    let wsum = 0;
    for (let sy = Math.floor(y0); sy < Math.ceil(y0 + scale); sy++) {
      const wy = Math.min(sy + 1, y0 + scale) - Math.max(sy, y0);
      for (let sx = Math.floor(x0); sx < Math.ceil(x0 + scale); sx++) {
        const wx = Math.min(sx + 1, x0 + scale) - Math.max(sx, x0);
        const p = 3 * ((by + sy) * img.width + bx + sx);
        for (let c = 0; c < 3; c++) acc[c]! += wx * wy * img.rgb[p + c]!;
        wsum += wx * wy;
      }
    }
    const q = 4 * (oy * OUT + ox);
    for (let c = 0; c < 3; c++) out[q + c] = Math.round(acc[c]! / wsum);
    out[q + 3] = 255;
  }
}
writeFileSync('test/fixtures/astronaut-face.png', encodePng({ width: OUT, height: OUT, data: out }));
console.log(`wrote test/fixtures/astronaut-face.png from ${src} (${img.width}×${img.height}), box ${JSON.stringify(ASTRONAUT_FACE_BOX)}`);
