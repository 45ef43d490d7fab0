/** renderFace: paints a face part by part, back to front, and returns it with its exact landmarks. */
import { LANDMARK_COUNT } from '../landmarks68.ts';
import { makeCanvas } from './canvas.ts';
import { faceLandmarks } from './geometry.ts';
import { paintBrows, paintEyes } from './paint-eyes.ts';
import { paintGlasses } from './paint-glasses.ts';
import { paintBackground, paintBackHair, paintBody, paintHairCap } from './paint-head.ts';
import { paintMouth } from './paint-mouth.ts';
import { paintNose } from './paint-nose.ts';
import { paintWrinkles } from './paint-wrinkles.ts';
import { applyLighting } from './pixels.ts';
import type { FaceParams, RenderedFace, RenderStyle } from './types.ts';

/**
 * Renders a face at `size`×`size`. Geometry depends only on `p` (not on the size), so the landmarks of
 * one sample rendered at two sizes agree in normalised coordinates.
 */
export function renderFace(p: FaceParams, size: number, style: RenderStyle = 'natural'): RenderedFace {
  if (!Number.isInteger(size) || size < 8 || size > 4096) throw new Error(`SynthFER: size must be an integer in [8, 4096], got ${size}`);
  const c = makeCanvas(p, size, style);
  const lm = faceLandmarks(c.g);
  const pupils = new Float32Array([...c.g.irisCentre(-1), ...c.g.irisCentre(1)].map((v) => v / size));

  paintBackground(c);
  paintBackHair(c);
  paintBody(c);
  paintWrinkles(c);
  paintHairCap(c);
  paintEyes(c);
  paintBrows(c);
  paintNose(c);
  paintMouth(c);
  paintGlasses(c);

  // Global lighting, contrast and sensor noise ('parts': just clamp).
  const rgb = c.R.rgb;
  if (!c.parts) {
    applyLighting(rgb, size, p.scene, p.noiseKey);
  } else {
    for (let k = 0; k < rgb.length; k++) rgb[k] = Math.min(1, Math.max(0, rgb[k]!));
  }

  const landmarks = new Float32Array(2 * LANDMARK_COUNT);
  for (let i = 0; i < landmarks.length; i++) landmarks[i] = lm[i]! / size;
  return { image: rgb, landmarks, pupils };
}
