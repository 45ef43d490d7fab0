/**
 * Photos → face crops framed like training faces (`lrdif predict`): each file is decoded
 * (images.ts), its largest face located by face-api's detector and landmark network
 * (src/model/landmarks/face-locator.ts), and that face's aligned square cut out and resized.
 */
import type { Engine } from '../../engine/index.ts';
import { loadFaceLandmarkNet, loadTinyFaceDetector } from '../../model/landmarks/face-api-files.ts';
import { locateFaces } from '../../model/landmarks/face-locator.ts';
import { cropResized, readImageChw } from './images.ts';

/**
 * Image files → each one's largest face, framed like a training face and resized to size×size
 * (CHW in [0, 1]), or null where no face was found. Loads face-api's detector and landmark network
 * for the call.
 */
export async function detectAndAlignFaces(e: Engine, files: string[], size: number, modelDir?: string): Promise<(Float32Array | null)[]> {
  const detector = loadTinyFaceDetector(e, modelDir);
  const landmarkNet = loadFaceLandmarkNet(e, modelDir);
  try {
    const images = await Promise.all(files.map(readImageChw));
    const located = await locateFaces(detector, landmarkNet, images);
    return Promise.all(located.map((f, i) => (f ? cropResized(images[i]!, f.aligned, size) : null)));
  } finally {
    detector.dispose();
    landmarkNet.dispose();
  }
}
