/** Canvas helpers: CHW float images ↔ pixels, an EPR heat strip. Browser only (no Node image code). */

/** Draws a CHW [3, S, S] image in [0, 1] at (x, y), scaled by an integer factor. */
export function drawChw(ctx: CanvasRenderingContext2D, chw: Float32Array, size: number, x: number, y: number, scale = 1): void {
  const img = new ImageData(size, size);
  const plane = size * size;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) img.data[p * 4 + c] = Math.round(Math.min(1, Math.max(0, chw[c * plane + p]!)) * 255);
    img.data[p * 4 + 3] = 255;
  }
  if (scale === 1) {
    ctx.putImageData(img, x, y);
    return;
  }
  const tmp = document.createElement('canvas');
  tmp.width = size;
  tmp.height = size;
  tmp.getContext('2d')!.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, x, y, size * scale, size * scale);
}

/** Centre-crops a picture to a square and resizes it to S×S; returns CHW in [0, 1]. */
export function pictureToChw(source: CanvasImageSource, width: number, height: number, size: number): Float32Array {
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const side = Math.min(width, height);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, (width - side) / 2, (height - side) / 2, side, side, 0, 0, size, size);
  const px = ctx.getImageData(0, 0, size, size).data;
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[c * plane + p] = px[p * 4 + c]! / 255;
  return out;
}

/** EPR rows as a heat strip: one row per reverse step, one column per channel, blue < 0 < red. */
export function drawHeatStrip(canvas: HTMLCanvasElement, rows: Float32Array[], labels: string[]): void {
  const cols = rows[0]?.length ?? 0;
  const labelW = 34;
  const cell = Math.max(2, Math.min(10, Math.floor(420 / Math.max(1, cols))));
  const rowH = 16;
  canvas.width = labelW + cols * cell;
  canvas.height = Math.max(1, rows.length) * rowH;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  let maxAbs = 1e-6;
  for (const r of rows) for (const v of r) maxAbs = Math.max(maxAbs, Math.abs(v));
  ctx.font = '11px sans-serif';
  ctx.textBaseline = 'middle';
  rows.forEach((r, i) => {
    ctx.fillStyle = '#333';
    ctx.fillText(labels[i] ?? '', 2, i * rowH + rowH / 2);
    for (let j = 0; j < cols; j++) {
      const f = r[j]! / maxAbs;
      const a = Math.round(255 * (1 - Math.abs(f)));
      ctx.fillStyle = f >= 0 ? `rgb(255,${a},${a})` : `rgb(${a},${a},255)`;
      ctx.fillRect(labelW + j * cell, i * rowH + 1, cell, rowH - 2);
    }
  });
}
