/**
 * Every WGSL kernel, bundled as text so the same engine loads them in Bun and in the browser.
 * Add one line per shader file (the registry reports an unknown name with this hint).
 */
import fill from '../../shaders/fill.wgsl' with { type: 'text' };

export const SHADERS: Record<string, string> = {
  fill,
};
