/**
 * `covergenre predict`: the whole feature path on new covers (decode → colour → faces → backbone
 * embeddings, through lib/features' Extractor, the same code that built the training table), then
 * the checkpoint's encoding, scaling, head and thresholds. A bad file gets an `error`; the others
 * still run.
 */
import * as path from "node:path";
import type { CoverRow, FeatureSet } from "../features/store";
import { defaultFeatureConfig } from "../features/config";
import { Extractor } from "../features/extract";
import { buildDataset } from "./dataset";
import { loadCheckpoint, scoreWithCheckpoint, type Checkpoint } from "./checkpoint";

export interface Prediction {
  file: string;
  scores?: Record<string, number>;
  genres?: string[];
  faces?: number;
  error?: string;
}

/** Features of new images as a FeatureSet (rows that failed carry `error`). */
export async function extractFeatures(files: string[], ckpt: Checkpoint): Promise<FeatureSet> {
  const needsFaces = ckpt.meta.blocks.includes("face");
  const config = { ...defaultFeatureConfig(), backbones: ckpt.meta.imgBackbones, maps: [], faces: needsFaces, workers: 0 };
  const extractor = await Extractor.create(config);
  try {
    return await extractWith(extractor, files, ckpt, needsFaces);
  } finally {
    extractor.dispose();
  }
}

/** An image that is not a file: its bytes, and the name its row and error messages use. */
export interface ImageBytes {
  name: string;
  bytes: Uint8Array;
}

/**
 * Features of image files (or images already in memory) with an already loaded Extractor (a
 * long-lived caller such as `covergenre serve` keeps one, instead of loading the models per request).
 */
export async function extractWith(extractor: Extractor, files: Array<string | ImageBytes>, ckpt: Checkpoint, needsFaces: boolean = ckpt.meta.blocks.includes("face")): Promise<FeatureSet> {
  const stages = ["colour", ...(needsFaces ? ["faces"] : []), ...ckpt.meta.imgBackbones.map((b) => `emb:${b}`)];
  const rows: CoverRow[] = [];
  const dims: Record<string, number> = Object.fromEntries(Object.entries(extractor.shapes()).map(([b, s]) => [b, s.dim]));
  const emb: Record<string, number[][]> = Object.fromEntries(ckpt.meta.imgBackbones.map((b) => [b, []]));
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    // In-memory bytes go through the Extractor's own bytes path (as queue jobs do), named as given.
    const abs = typeof f === "string" ? path.resolve(f) : f.name;
    const { items } = await extractor.run([{ hash: String(i), absPath: abs, stages, ...(typeof f === "string" ? {} : { bytes: f.bytes }) }]);
    const it = items[0];
    const errors: string[] = [];
    if (it.colour && !it.colour.ok) errors.push(it.colour.error);
    if (it.faces && !it.faces.ok) errors.push(it.faces.error);
    for (const b of ckpt.meta.imgBackbones) {
      const e = it.emb[b];
      if (!e) errors.push(`no ${b} embedding`);
      else if (!e.ok) errors.push(e.error);
      emb[b].push(e && e.ok ? Array.from(e.value.pooled) : new Array(dims[b] ?? 0).fill(0));
    }
    const colour = it.colour?.ok ? it.colour.value : null;
    rows.push({
      // A file given to predict belongs to no collection: its absolute path is its key.
      collection: "",
      masterId: path.basename(abs).replace(/\.[^.]+$/, ""),
      path: abs,
      width: colour ? colour.width : NaN,
      height: colour ? colour.height : NaN,
      genres: [],
      isMultiLabeled: false,
      dominant: colour ? colour.dominant : [0, 0, 0],
      meanColour: colour ? colour.mean : [0, 0, 0],
      faces: it.faces?.ok ? it.faces.value.faces : [],
      error: errors.length ? [...new Set(errors)].join("; ") : null,
    });
  }
  const embeddings: FeatureSet["embeddings"] = {};
  for (const b of ckpt.meta.imgBackbones) embeddings[b] = { dim: dims[b], data: Float32Array.from(emb[b].flat()) };
  return { tablePath: "", coversDir: "/", rows, embeddings };
}

/** Predict genres for image files with a checkpoint folder. */
export async function predictFiles(modelDir: string, files: string[]): Promise<Prediction[]> {
  const ckpt = await loadCheckpoint(modelDir);
  return predictFeatureSet(ckpt, await extractFeatures(files, ckpt), files);
}

/** Predictions for the rows of a FeatureSet of new images (`files[i]` names row i). */
export function predictFeatureSet(ckpt: Checkpoint, fset: FeatureSet, files: string[]): Prediction[] {
  const ok = fset.rows.map((r, i) => (r.error ? -1 : i)).filter((i) => i >= 0);
  // Encode exactly as training did (same block builder), on the "all covers" population.
  const ds = buildDataset(fset, ok, { genres: ckpt.meta.genres, imgBackbones: ckpt.meta.imgBackbones, population: ckpt.meta.population });
  const { scores, genres } = ok.length ? scoreWithCheckpoint(ckpt, ds, ds.sourceRows.map((_, i) => i)) : { scores: new Float32Array(0), genres: [] };
  const k = ckpt.meta.genres.length;
  // Dataset row i is table row ds.sourceRows[i]: a "faces" checkpoint drops faceless covers.
  const byRow = new Map(ds.sourceRows.map((r, i) => [r, i]));
  return fset.rows.map((row, r) => {
    const i = byRow.get(r);
    if (i === undefined) {
      const error = row.error ?? (ckpt.meta.population === "faces" && row.faces.length === 0 ? "no face found: this model was trained on covers with a face" : "unknown error");
      return { file: files[r], error };
    }
    return {
      file: files[r],
      scores: Object.fromEntries(ckpt.meta.genres.map((g, j) => [g, Number(scores[i * k + j].toFixed(4))])),
      genres: genres[i],
      faces: row.faces.length,
    };
  });
}
