/**
 * One indexed dataset object for training: labels and every input block live together, row i of
 * each is the same cover, and folds are lists of row indices into it. Features and labels are only
 * ever taken out through the same index list ({@link LabelledDataset.take}), which makes the
 * study's bug (X and y shuffled with different seeds) impossible by construction.
 *
 * Input blocks (the study's three model inputs, plus what a careful study adds):
 * - `img`: pooled backbone embeddings (one or several backbones concatenated);
 * - `face`: the main (largest) face: gender one-hot, race one-hot, age, 7 emotion scores; on the
 *   all-covers population also a has-face indicator and the number of faces;
 * - `clr`: dominant colour RGB and mean colour RGB.
 */
import { coverFile, type CoverRow, type FeatureSet } from "../features/store";
import { RACES } from "../vision/faces";
import { EMOTIONS } from "../features/schema";
import type { LabelMatrix } from "./stratify";

export interface Block {
  dim: number;
  columns: string[];
  /** rows × dim, row-major. */
  data: Float32Array;
}

export type BlockName = "img" | "face" | "clr";
export const BLOCK_ORDER: readonly BlockName[] = ["img", "face", "clr"];

export interface LabelledDataset {
  /** Rows of the source FeatureSet, one per dataset row. */
  sourceRows: number[];
  ids: string[];
  /** Each row's collection: with its id, the row's key (ids of two collections can collide). */
  collections: string[];
  /** Absolute cover paths (for example grids). */
  paths: string[];
  genres: string[];
  n: number;
  k: number;
  /** rows × genres, row-major 0/1. */
  y: Uint8Array;
  blocks: Partial<Record<BlockName, Block>>;
}

/**
 * The img block's embeddings when none are asked for: the ImageNet MobileNet v1 when the table has
 * it (it beat the study's InceptionV3 alone, and the two concatenated, on the same folds), else
 * every embedding in the table. Other embeddings are measured as the study's variants.
 */
export function defaultImgBackbones(available: string[]): string[] {
  return available.includes("mobilenet_v1") ? ["mobilenet_v1"] : [...available].sort();
}

/** Blocks of an input-set name like "img+face+clr", in canonical order. */
export function parseInputSet(name: string): BlockName[] {
  const parts = name.split("+").map((p) => p.trim());
  for (const p of parts) if (!BLOCK_ORDER.includes(p as BlockName)) throw new Error(`input set "${name}": unknown block "${p}" (use img, face, clr)`);
  return BLOCK_ORDER.filter((b) => parts.includes(b));
}

export function labelMatrix(ds: LabelledDataset, rows?: number[]): LabelMatrix {
  if (!rows) return { y: ds.y, n: ds.n, k: ds.k };
  return { y: takeLabels(ds, rows), n: rows.length, k: ds.k };
}

export function takeLabels(ds: Pick<LabelledDataset, "y" | "k">, rows: number[]): Uint8Array {
  const out = new Uint8Array(rows.length * ds.k);
  rows.forEach((r, i) => out.set(ds.y.subarray(r * ds.k, (r + 1) * ds.k), i * ds.k));
  return out;
}

/** Feature matrix (blocks concatenated in BLOCK_ORDER) and labels of the same rows, together. */
export function take(ds: LabelledDataset, blocks: BlockName[], rows: number[]): { x: Float32Array; d: number; y: Uint8Array; n: number } {
  const parts = blocks.map((b) => {
    const block = ds.blocks[b];
    if (!block) throw new Error(`the dataset has no "${b}" block`);
    return block;
  });
  const d = parts.reduce((a, p) => a + p.dim, 0);
  const x = new Float32Array(rows.length * d);
  rows.forEach((r, i) => {
    let off = i * d;
    for (const p of parts) {
      x.set(p.data.subarray(r * p.dim, (r + 1) * p.dim), off);
      off += p.dim;
    }
  });
  return { x, d, y: takeLabels(ds, rows), n: rows.length };
}

export function blockColumns(ds: LabelledDataset, blocks: BlockName[]): string[] {
  return blocks.flatMap((b) => ds.blocks[b]?.columns ?? []);
}

/** Column names of the face block. */
export function faceColumns(withPresence: boolean): string[] {
  return [
    ...(withPresence ? ["has_face", "log_faces"] : []),
    "gender_male",
    "gender_female",
    ...RACES.map((r) => `race_${r}`),
    "age",
    ...EMOTIONS.map((e) => `emotion_${e}`),
  ];
}

/** Encode the main face of a cover (zeros when there is none, or an attribute is missing). */
export function encodeFace(row: Pick<CoverRow, "faces">, withPresence: boolean, out: Float32Array, offset: number): void {
  const face = row.faces[0];
  let o = offset;
  if (withPresence) {
    out[o++] = face ? 1 : 0;
    out[o++] = Math.log1p(row.faces.length);
  }
  out[o++] = face?.gender === "male" ? 1 : 0;
  out[o++] = face?.gender === "female" ? 1 : 0;
  for (const r of RACES) out[o++] = face?.race === r ? 1 : 0;
  out[o++] = face?.age ?? 0;
  for (const e of EMOTIONS) out[o++] = face?.emotion ? face.emotion[e] : 0;
}

export const COLOUR_COLUMNS = ["dominant_r", "dominant_g", "dominant_b", "mean_r", "mean_g", "mean_b"];

export interface BuildOptions {
  /** Genres to train on (Discogs spelling), in column order. */
  genres: string[];
  /** Backbone embeddings concatenated into the img block (those missing from the set are an error). */
  imgBackbones: string[];
  /** "faces": only covers with ≥ 1 face (the study's population); "all": every usable cover. */
  population: "faces" | "all";
}

/**
 * Build the dataset for one population from a FeatureSet: rows with an extraction error or without
 * any of `genres` are left out (and counted by the caller via {@link usableRows}).
 */
export function buildDataset(fs: FeatureSet, rowsToUse: number[], opts: BuildOptions): LabelledDataset {
  const rows = opts.population === "faces" ? rowsToUse.filter((r) => fs.rows[r].faces.length > 0) : rowsToUse;
  const k = opts.genres.length;
  const n = rows.length;
  const y = new Uint8Array(n * k);
  rows.forEach((r, i) => {
    const g = fs.rows[r].genres;
    opts.genres.forEach((genre, j) => (y[i * k + j] = g.includes(genre) ? 1 : 0));
  });
  const blocks: LabelledDataset["blocks"] = {};
  if (opts.imgBackbones.length > 0) {
    const embs = opts.imgBackbones.map((b) => {
      const e = fs.embeddings[b];
      if (!e) throw new Error(`the feature table has no ${b} embedding (it has: ${Object.keys(fs.embeddings).join(", ") || "none"})`);
      return { name: b, ...e };
    });
    const dim = embs.reduce((a, e) => a + e.dim, 0);
    const data = new Float32Array(n * dim);
    rows.forEach((r, i) => {
      let off = i * dim;
      for (const e of embs) {
        data.set(e.data.subarray(r * e.dim, (r + 1) * e.dim), off);
        off += e.dim;
      }
    });
    blocks.img = { dim, data, columns: embs.flatMap((e) => Array.from({ length: e.dim }, (_, j) => `${e.name}_${j}`)) };
  }
  const withPresence = opts.population === "all";
  const faceCols = faceColumns(withPresence);
  const face = new Float32Array(n * faceCols.length);
  rows.forEach((r, i) => encodeFace(fs.rows[r], withPresence, face, i * faceCols.length));
  blocks.face = { dim: faceCols.length, data: face, columns: faceCols };
  const clr = new Float32Array(n * 6);
  rows.forEach((r, i) => {
    const row = fs.rows[r];
    clr.set([...row.dominant, ...row.meanColour].map((v) => (Number.isFinite(v) ? v : 0)), i * 6);
  });
  blocks.clr = { dim: 6, data: clr, columns: COLOUR_COLUMNS };
  return {
    sourceRows: rows,
    ids: rows.map((r) => fs.rows[r].masterId),
    collections: rows.map((r) => fs.rows[r].collection),
    paths: rows.map((r) => coverFile(fs, fs.rows[r])),
    genres: opts.genres,
    n,
    k,
    y,
    blocks,
  };
}

/** Rows usable for training: no extraction error and ≥ 1 of `genres`; plus why the rest were dropped. */
export function usableRows(fs: FeatureSet, genres: string[]): { rows: number[]; dropped: { reason: string; count: number }[] } {
  const rows: number[] = [];
  let errors = 0;
  let noGenre = 0;
  fs.rows.forEach((row, i) => {
    if (row.error) errors++;
    else if (!row.genres.some((g) => genres.includes(g))) noGenre++;
    else rows.push(i);
  });
  const dropped = [];
  if (errors) dropped.push({ reason: "feature extraction failed (see the table's error column)", count: errors });
  if (noGenre) dropped.push({ reason: `none of the kept genres (${genres.join(", ")})`, count: noGenre });
  return { rows, dropped };
}

/**
 * Standardisation fitted on training rows only (the study standardised before splitting, which
 * leaks test statistics into training). Constant columns get scale 1.
 */
export interface Scaler {
  mean: Float32Array;
  std: Float32Array;
}

export function fitScaler(x: Float32Array, n: number, d: number): Scaler {
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= Math.max(1, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) {
    const v = x[i * d + j] - mean[j];
    sq[j] += v * v;
  }
  const std = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(sq[j] / Math.max(1, n - 1));
    std[j] = s > 1e-8 ? s : 1;
  }
  return { mean: Float32Array.from(mean), std };
}

export function applyScaler(x: Float32Array, n: number, d: number, s: Scaler): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = (x[i * d + j] - s.mean[j]) / s.std[j];
  return out;
}
