/**
 * Out-of-fold scores of the best configuration, kept beside its checkpoint (`oof.json`), and the
 * gallery built from them: per genre, the most typical covers (highest out-of-fold score among
 * covers that have the genre) and the most confident mistakes (highest score among covers that do
 * not). Out-of-fold scores come from models that never saw the cover, so the gallery shows what the
 * model generalises, not what it memorised; the final checkpoint's own scores on its training rows
 * would not.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readFeatureSet, type FeatureSet } from "../features/store";
import { initTf } from "../tf";
import { loadCheckpoint, type Checkpoint } from "../train/checkpoint";
import { foldLabels } from "../train/collections";
import { crossValidate, DEFAULT_CV, pooledScorer, type CvOutcome } from "../train/cv";
import { buildDataset, usableRows, type LabelledDataset } from "../train/dataset";
import { repeatedStratifiedFolds } from "../train/stratify";
import { writeJsonAtomic } from "../util/fsx";

export const OOF_FILE = "oof.json";
export const OOF_FORMAT = "covergenre-oof-scores";

/** What `oof.json` holds: one entry per training row of the checkpoint (repeat 0 of the CV). */
export interface OofScores {
  format: typeof OOF_FORMAT;
  version: 1;
  inputSet: string;
  genres: string[];
  rows: { collection: string; id: string; path: string; genres: string[]; scores: number[]; predicted: string[] }[];
}

/** Write the out-of-fold scores of `cv` (on `ds`) as `<dir>/oof.json`. */
export async function writeOofScores(dir: string, ds: LabelledDataset, cv: Pick<CvOutcome, "oof" | "oofPred">, inputSet: string): Promise<string> {
  const k = ds.k;
  const out: OofScores = {
    format: OOF_FORMAT,
    version: 1,
    inputSet,
    genres: ds.genres,
    rows: ds.ids.map((id, r) => ({
      collection: ds.collections[r],
      id,
      path: ds.paths[r],
      genres: ds.genres.filter((_, j) => ds.y[r * k + j]),
      scores: Array.from(cv.oof.subarray(r * k, (r + 1) * k), (s) => Number(s.toFixed(4))),
      predicted: ds.genres.filter((_, j) => cv.oofPred[r * k + j]),
    })),
  };
  const file = path.join(dir, OOF_FILE);
  await writeJsonAtomic(file, out);
  return file;
}

/**
 * For a checkpoint written before the study kept them: its configuration's out-of-fold scores
 * recomputed on its training table — the study's first repeat (same fold labels and seed, 5 folds,
 * thresholds tuned inside each training fold), so the same rows come out as the study would write.
 */
export function recomputeOofScores(ckpt: Checkpoint, fset: FeatureSet, opts: { folds?: number; seed?: number } = {}): { ds: LabelledDataset; cv: CvOutcome } {
  const meta = ckpt.meta;
  const ds = buildDataset(fset, usableRows(fset, meta.genres).rows, { genres: meta.genres, imgBackbones: meta.imgBackbones, population: meta.population });
  const seed = opts.seed ?? 42;
  const folds = repeatedStratifiedFolds(foldLabels(ds), opts.folds ?? 5, 1, seed);
  return { ds, cv: crossValidate(ds, folds, pooledScorer(meta.blocks, meta.head.config), { ...DEFAULT_CV, seed, label: "out-of-fold scores" }) };
}

/** `covergenre serve --oof`: recompute and write `<dir>/oof.json` from the checkpoint's training table (default: the one it names). */
export async function writeRecomputedOof(dir: string, tablePath?: string, log: (line: string) => void = () => undefined): Promise<string> {
  // The wasm backend with its matmul fix: without it tfjs falls back to its pure-JS backend, ≈ 25x slower.
  await initTf();
  const ckpt = await loadCheckpoint(dir);
  const table = tablePath ?? ckpt.meta.trainedOn.table;
  if (!fs.existsSync(table)) throw new Error(`cannot recompute out-of-fold scores: the training table ${table} is not on this machine (build it with \`covergenre features\`, or give --table)`);
  const t0 = Date.now();
  const { ds, cv } = recomputeOofScores(ckpt, await readFeatureSet(table));
  const file = await writeOofScores(dir, ds, cv, ckpt.meta.inputSet);
  log(`out-of-fold scores of ${ds.n} covers (${ckpt.meta.inputSet}, ${ckpt.meta.head.name}, 5 folds) → ${file} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  return file;
}

/** `<dir>/oof.json`, or why it cannot be used (an older checkpoint has none). */
export function readOofScores(dir: string): { oof: OofScores } | { missing: string } {
  const file = path.join(dir, OOF_FILE);
  if (!fs.existsSync(file)) {
    return { missing: `${file} does not exist: this checkpoint was written before the study kept its out-of-fold scores. Run \`covergenre serve --oof\` once to recompute them on the training table (a few minutes), or \`covergenre study\` to write a new checkpoint with them.` };
  }
  const oof = JSON.parse(fs.readFileSync(file, "utf8")) as OofScores;
  if (oof.format !== OOF_FORMAT) return { missing: `${file}: format "${oof.format}" is not ${OOF_FORMAT}` };
  return { oof };
}

export interface GalleryItem {
  /** Index into OofScores.rows. */
  row: number;
  id: string;
  collection: string;
  path: string;
  genres: string[];
  predicted: string[];
  /** Out-of-fold score of the gallery's genre. */
  score: number;
}

export interface GalleryGenre {
  genre: string;
  /** Covers with the genre, highest out-of-fold score first. */
  typical: GalleryItem[];
  /** Covers without the genre, highest out-of-fold score first (confident false positives). */
  mistakes: GalleryItem[];
}

/** The `per` most typical covers and most confident mistakes of every genre. */
export function buildGallery(oof: OofScores, per = 6): GalleryGenre[] {
  return oof.genres.map((genre, j) => {
    const item = (r: number): GalleryItem => {
      const row = oof.rows[r];
      return { row: r, id: row.id, collection: row.collection, path: row.path, genres: row.genres, predicted: row.predicted, score: row.scores[j] };
    };
    const top = (has: boolean) =>
      oof.rows
        .map((row, r) => ({ r, s: row.scores[j], has: row.genres.includes(genre) }))
        .filter((x) => x.has === has)
        .sort((a, b) => b.s - a.s)
        .slice(0, per)
        .map((x) => item(x.r));
    return { genre, typical: top(true), mistakes: top(false) };
  });
}
