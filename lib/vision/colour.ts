/**
 * Colour features of a cover: grey and RGB histograms, the mean colour and the dominant colour.
 *
 * Plain loops over the decoded RGB bytes, no tensors: a 300x300 cover takes about a millisecond,
 * far below the networks' cost, and nothing can leak.
 *
 * Dominant colour: k-means (k-means++ seeding with a fixed seed, so the same cover always gives the
 * same answer) on at most `samplePixels` pixels taken on a regular grid; the dominant colour is the
 * centre of the cluster holding the MOST pixels (not the brightest or most saturated one), which is
 * what a viewer calls "the colour of the cover" for a mostly-flat design.
 */
import type { DecodedImage } from "./image";
import { makeRng } from "../util/rng";

export type RGB = [number, number, number];

/** Settings of the colour features; defaults documented per field. */
export interface ColourConfig {
  /** Clusters for the dominant colour. Default 5 (enough to separate background, text and a photo). */
  k: number;
  /** Pixels sampled for k-means. Default 4096 (a 64x64 grid). */
  samplePixels: number;
  /** Lloyd iterations at most (stops earlier when assignments no longer change). Default 20. */
  iterations: number;
  /** Seed of the k-means++ draw. Default 1. */
  seed: number;
}

/** Revision of the colour features' algorithm (cache key; see DECODE_REVISION in image.ts for the rule). */
export const COLOUR_REVISION = 1;

export const DEFAULT_COLOUR_CONFIG: ColourConfig = { k: 5, samplePixels: 4096, iterations: 20, seed: 1 };

export interface ColourFeatures {
  /** 256 counts of the luma (ITU-R BT.601, as PIL's convert("L")). */
  grey: Uint32Array;
  /** 3 x 256 counts: R then G then B. */
  rgb: Uint32Array;
  /** Mean R, G, B over all pixels (0..255, unrounded). */
  mean: RGB;
  /** Centre of the largest k-means cluster, rounded to integers. */
  dominant: RGB;
  /** Share of the sampled pixels in the dominant cluster (0..1). */
  dominantShare: number;
}

/** BT.601 luma as PIL computes it: (R*299 + G*587 + B*114) / 1000, truncated. */
export function luma(r: number, g: number, b: number): number {
  return Math.floor((r * 299 + g * 587 + b * 114) / 1000);
}

/** Grey histogram (256) and RGB histogram (3 x 256) of every pixel. */
export function histograms(img: DecodedImage): { grey: Uint32Array; rgb: Uint32Array } {
  const grey = new Uint32Array(256);
  const rgb = new Uint32Array(768);
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) {
    const r = d[i];
    const g = d[i + 1];
    const b = d[i + 2];
    rgb[r]++;
    rgb[256 + g]++;
    rgb[512 + b]++;
    grey[luma(r, g, b)]++;
  }
  return { grey, rgb };
}

export function meanColour(img: DecodedImage): RGB {
  let r = 0;
  let g = 0;
  let b = 0;
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) {
    r += d[i];
    g += d[i + 1];
    b += d[i + 2];
  }
  const n = Math.max(1, d.length / 3);
  return [r / n, g / n, b / n];
}

/** Pixels on a regular grid, at most `max` of them, as a flat [n*3] float array. */
export function samplePixels(img: DecodedImage, max: number): Float64Array {
  const n = img.width * img.height;
  if (n <= max) return Float64Array.from(img.data);
  const step = Math.sqrt(n / max);
  const cols = Math.max(1, Math.floor(img.width / step));
  const rows = Math.max(1, Math.floor(img.height / step));
  const out = new Float64Array(cols * rows * 3);
  let k = 0;
  for (let yi = 0; yi < rows; yi++) {
    const y = Math.min(img.height - 1, Math.floor((yi + 0.5) * (img.height / rows)));
    for (let xi = 0; xi < cols; xi++) {
      const x = Math.min(img.width - 1, Math.floor((xi + 0.5) * (img.width / cols)));
      const s = (y * img.width + x) * 3;
      out[k++] = img.data[s];
      out[k++] = img.data[s + 1];
      out[k++] = img.data[s + 2];
    }
  }
  return out;
}

export interface KMeansResult {
  centres: RGB[];
  /** Points per cluster, same order as centres. */
  sizes: number[];
}

/** k-means on RGB points (flat [n*3]), k-means++ seeded. Fewer distinct colours than k → fewer clusters. */
export function kmeans(points: Float64Array, k: number, iterations: number, seed: number): KMeansResult {
  const n = points.length / 3;
  if (n === 0) return { centres: [], sizes: [] };
  const rand = makeRng(seed); // k-means must not depend on Math.random
  const centres: number[][] = [];
  const d2 = new Float64Array(n).fill(Infinity);
  let first = Math.floor(rand() * n);
  centres.push([points[first * 3], points[first * 3 + 1], points[first * 3 + 2]]);
  while (centres.length < k) {
    const c = centres[centres.length - 1];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const dr = points[i * 3] - c[0];
      const dg = points[i * 3 + 1] - c[1];
      const db = points[i * 3 + 2] - c[2];
      const d = dr * dr + dg * dg + db * db;
      if (d < d2[i]) d2[i] = d;
      total += d2[i];
    }
    if (total === 0) break; // every point already sits on a centre: fewer colours than k
    let target = rand() * total;
    first = n - 1;
    for (let i = 0; i < n; i++) {
      target -= d2[i];
      if (target <= 0) {
        first = i;
        break;
      }
    }
    centres.push([points[first * 3], points[first * 3 + 1], points[first * 3 + 2]]);
  }
  const assign = new Int32Array(n).fill(-1);
  const kk = centres.length;
  const sums = new Float64Array(kk * 3);
  const sizes = new Array<number>(kk).fill(0);
  for (let it = 0; it < Math.max(1, iterations); it++) {
    let changed = false;
    sums.fill(0);
    sizes.fill(0);
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      for (let j = 0; j < kk; j++) {
        const dr = points[i * 3] - centres[j][0];
        const dg = points[i * 3 + 1] - centres[j][1];
        const db = points[i * 3 + 2] - centres[j][2];
        const d = dr * dr + dg * dg + db * db;
        if (d < bestD) {
          bestD = d;
          best = j;
        }
      }
      if (assign[i] !== best) {
        assign[i] = best;
        changed = true;
      }
      sizes[best]++;
      sums[best * 3] += points[i * 3];
      sums[best * 3 + 1] += points[i * 3 + 1];
      sums[best * 3 + 2] += points[i * 3 + 2];
    }
    for (let j = 0; j < kk; j++) {
      if (sizes[j] > 0) centres[j] = [sums[j * 3] / sizes[j], sums[j * 3 + 1] / sizes[j], sums[j * 3 + 2] / sizes[j]];
    }
    if (!changed) break;
  }
  return { centres: centres.map((c) => [c[0], c[1], c[2]] as RGB), sizes };
}

/** The dominant colour: centre of the most populated k-means cluster (ties: the earlier cluster). */
export function dominantColour(img: DecodedImage, config: ColourConfig = DEFAULT_COLOUR_CONFIG): { colour: RGB; share: number } {
  const pts = samplePixels(img, config.samplePixels);
  const { centres, sizes } = kmeans(pts, config.k, config.iterations, config.seed);
  if (centres.length === 0) return { colour: [0, 0, 0], share: 0 };
  let best = 0;
  for (let j = 1; j < sizes.length; j++) if (sizes[j] > sizes[best]) best = j;
  const total = sizes.reduce((a, b) => a + b, 0);
  const c = centres[best];
  return { colour: [Math.round(c[0]), Math.round(c[1]), Math.round(c[2])], share: sizes[best] / total };
}

/** All colour features of one image. */
export function colourFeatures(img: DecodedImage, config: ColourConfig = DEFAULT_COLOUR_CONFIG): ColourFeatures {
  const { grey, rgb } = histograms(img);
  const dom = dominantColour(img, config);
  return { grey, rgb, mean: meanColour(img), dominant: dom.colour, dominantShare: dom.share };
}
