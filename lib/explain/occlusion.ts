/**
 * Occlusion sensitivity: which parts of a cover a genre's score depends on. A grey patch slides
 * over the cover on a rows × cols grid; each patched copy is scored again and the map holds how
 * much the genre's score dropped (base − patched). Positive cells support the genre, negative ones
 * argue against it. Model-agnostic: the caller supplies the scorer, so `covergenre serve` and the
 * notebooks map exactly the checkpoint path that `predict` runs (see {@link ./coverModel}).
 */
import { resizeImage, type DecodedImage } from "../vision/image";

export interface OcclusionOptions {
  /** Grid cells per side (default 7: 49 patched copies, ≈ 0.3 s with MobileNet on onnxruntime). */
  grid?: number;
  /** Patch side as a multiple of a cell (default 2: neighbouring patches overlap by half, a smoother map). */
  patchCells?: number;
  /** Patch colour (default mid grey, the mean of a cover rather than black, which is itself a "dark" signal). */
  fill?: [number, number, number];
  /**
   * Side the cover is resized to before patching (default: no resize). Set it to the backbone's
   * input size so each patched copy is not resized again from the full image.
   */
  size?: number;
  /** Copies scored per call of the scorer (default 16: bounded memory, few calls). */
  batch?: number;
}

export interface OcclusionMap {
  genre: string;
  rows: number;
  cols: number;
  /** grid[r][c] = base score − score with the patch centred on cell (r, c). */
  grid: number[][];
  /** The genre's score on the unpatched (resized) cover. */
  base: number;
}

/** Scores of images: n × genres, row-major, in the order of `genres`. */
export type ImageScorer = (images: DecodedImage[]) => Promise<Float32Array>;

/** A copy of `img` with a `fill` rectangle [x0, x1) × [y0, y1). */
export function withPatch(img: DecodedImage, x0: number, y0: number, x1: number, y1: number, fill: [number, number, number]): DecodedImage {
  const data = img.data.slice();
  for (let y = Math.max(0, y0); y < Math.min(img.height, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(img.width, x1); x++) {
      const o = (y * img.width + x) * 3;
      data[o] = fill[0];
      data[o + 1] = fill[1];
      data[o + 2] = fill[2];
    }
  }
  return { data, width: img.width, height: img.height };
}

/**
 * Occlusion maps of `image` for each genre in `explain` (names from `genres`), from one pass of
 * patched copies (every genre's map comes from the same scores, so asking for all costs no more).
 */
export async function occlusionMaps(image: DecodedImage, genres: string[], explain: string[], score: ImageScorer, opts: OcclusionOptions = {}): Promise<OcclusionMap[]> {
  const grid = opts.grid ?? 7;
  if (!Number.isInteger(grid) || grid < 1 || grid > 32) throw new Error(`occlusion grid must be an integer from 1 to 32, got ${grid}`);
  const idx = explain.map((g) => {
    const j = genres.indexOf(g);
    if (j < 0) throw new Error(`cannot explain "${g}": the model's genres are ${genres.join(", ")}`);
    return j;
  });
  const base = opts.size ? await resizeImage(image, opts.size) : image;
  const fill = opts.fill ?? [128, 128, 128];
  const cellW = base.width / grid;
  const cellH = base.height / grid;
  const half = (opts.patchCells ?? 2) / 2;
  const copies: DecodedImage[] = [base];
  for (let r = 0; r < grid; r++) {
    for (let c = 0; c < grid; c++) {
      const cx = (c + 0.5) * cellW;
      const cy = (r + 0.5) * cellH;
      copies.push(withPatch(base, Math.round(cx - half * cellW), Math.round(cy - half * cellH), Math.round(cx + half * cellW), Math.round(cy + half * cellH), fill));
    }
  }
  const k = genres.length;
  const scores = new Float32Array(copies.length * k);
  const batch = opts.batch ?? 16;
  for (let s = 0; s < copies.length; s += batch) {
    const part = copies.slice(s, s + batch);
    const out = await score(part);
    if (out.length !== part.length * k) throw new Error(`the scorer returned ${out.length} scores for ${part.length} images × ${k} genres`);
    scores.set(out, s * k);
  }
  return idx.map((j, e) => {
    const b = scores[j];
    const rows: number[][] = [];
    for (let r = 0; r < grid; r++) rows.push(Array.from({ length: grid }, (_, c) => Number((b - scores[(1 + r * grid + c) * k + j]).toFixed(5))));
    return { genre: explain[e], rows: grid, cols: grid, grid: rows, base: Number(b.toFixed(5)) };
  });
}
