/**
 * Checkpoints of a pooled head: `checkpoints/<name>/checkpoint.json` (genres, thresholds, input
 * set, backbones, feature scaling, head shape) + `weights.bin` (float32). Everything `predict` needs
 * to turn a new cover into genres is in the folder; the backbones themselves are named, not copied
 * (they are large and come from npm / ../shared/models).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UserError } from "../util/errors";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx";
import { applyScaler, blockColumns, fitScaler, parseInputSet, take, takeLabels, type BlockName, type LabelledDataset, type Scaler } from "./dataset";
import { fitPooledHead, predictPooledHead, headName, type FitLog, type HeadWeights, type PooledHeadConfig } from "./heads";
import { DEFAULT_CV, pooledScorer, tuneOnTrainingRows } from "./cv";
import type { LearningCurve, MetricSet } from "./results";

export const CHECKPOINT_FORMAT = "covergenre-pooled-head";

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  createdAt: string;
  genres: string[];
  /** Per-genre decision thresholds (tuned on a hold-out of the training rows). */
  thresholds: number[];
  inputSet: string;
  blocks: BlockName[];
  /** Feature columns, in order, as the scaler and weights expect them. */
  columns: string[];
  /** Backbones whose pooled embeddings form the img block, in order. */
  imgBackbones: string[];
  /** "all": the face block carries a has-face indicator (works on covers without faces). */
  population: "faces" | "all";
  scaler: { mean: number[]; std: number[] };
  head: { name: string; config: PooledHeadConfig; shapes: number[][] };
  trainedOn: { table: string; rows: number };
  /** CV metrics of this configuration (from the study), for display. */
  cv: Pick<MetricSet, "microF1" | "macroF1" | "rocAucMacro"> | null;
}

export interface Checkpoint {
  dir: string;
  meta: CheckpointMeta;
  weights: HeadWeights;
}

/**
 * Train the final head on every row of `ds`: thresholds from an inner cross-validation (as inside
 * CV folds, {@link tuneOnTrainingRows}), then the head refitted on all rows with a scaler fitted on all rows.
 */
export function trainFinalHead(ds: LabelledDataset, inputSet: string, head: PooledHeadConfig, seed: number): { weights: HeadWeights; scaler: Scaler; thresholds: number[]; curve: LearningCurve } {
  const blocks = parseInputSet(inputSet);
  const rows = Array.from({ length: ds.n }, (_, i) => i);
  const thresholds = tuneOnTrainingRows(ds, rows, pooledScorer(blocks, head), DEFAULT_CV, seed);
  const all = take(ds, blocks, rows);
  const scaler = fitScaler(all.x, all.n, all.d);
  const log: FitLog[] = [];
  const weights = fitPooledHead(applyScaler(all.x, all.n, all.d, scaler), all.n, all.d, all.y, ds.k, { ...head, seed }, log);
  return {
    weights,
    scaler,
    thresholds,
    curve: { name: `best checkpoint (${inputSet}, ${headName(head)}, training loss)`, points: log.map((l) => ({ epoch: l.epoch, loss: l.loss, valLoss: null, learningRate: head.learningRate })), bestEpoch: log.length, stoppedEarly: false },
  };
}

export async function saveCheckpoint(dir: string, meta: CheckpointMeta, weights: HeadWeights): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true });
  const total = weights.arrays.reduce((a, w) => a + w.length, 0);
  const flat = new Float32Array(total);
  let off = 0;
  for (const a of weights.arrays) {
    flat.set(a, off);
    off += a.length;
  }
  await writeFileAtomic(path.join(dir, "weights.bin"), new Uint8Array(flat.buffer));
  await writeJsonAtomic(path.join(dir, "checkpoint.json"), meta);
}

export function buildMeta(args: {
  ds: LabelledDataset;
  inputSet: string;
  imgBackbones: string[];
  head: PooledHeadConfig;
  trained: { weights: HeadWeights; scaler: Scaler; thresholds: number[] };
  table: string;
  cv: CheckpointMeta["cv"];
}): CheckpointMeta {
  const blocks = parseInputSet(args.inputSet);
  return {
    format: CHECKPOINT_FORMAT,
    version: 1,
    createdAt: new Date().toISOString(),
    genres: args.ds.genres,
    thresholds: args.trained.thresholds.map((t) => (Number.isFinite(t) ? t : 1.01)),
    inputSet: args.inputSet,
    blocks,
    columns: blockColumns(args.ds, blocks),
    imgBackbones: blocks.includes("img") ? args.imgBackbones : [],
    population: "all",
    scaler: { mean: Array.from(args.trained.scaler.mean), std: Array.from(args.trained.scaler.std) },
    head: { name: headName(args.head), config: args.head, shapes: args.trained.weights.shapes },
    trainedOn: { table: args.table, rows: args.ds.n },
    cv: args.cv,
  };
}

export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const metaFile = path.join(dir, "checkpoint.json");
  if (!fs.existsSync(metaFile)) throw new UserError(`${dir} is not a checkpoint: it has no checkpoint.json (train one with \`covergenre study\` or \`covergenre train\`)`);
  const meta = JSON.parse(await fs.promises.readFile(metaFile, "utf8")) as CheckpointMeta;
  if (meta.format !== CHECKPOINT_FORMAT) throw new UserError(`${metaFile}: format "${meta.format}" is not ${CHECKPOINT_FORMAT}`);
  const buf = await fs.promises.readFile(path.join(dir, "weights.bin"));
  const flat = new Float32Array(buf.byteLength / 4);
  new Uint8Array(flat.buffer).set(buf);
  const arrays: Float32Array[] = [];
  let off = 0;
  for (const s of meta.head.shapes) {
    const size = s.reduce((a, b) => a * b, 1);
    arrays.push(flat.slice(off, off + size));
    off += size;
  }
  if (off !== flat.length) throw new UserError(`${dir}/weights.bin has ${flat.length} values, checkpoint.json expects ${off}: the checkpoint is damaged`);
  const d = meta.head.shapes[0][0];
  if (d !== meta.columns.length) throw new UserError(`${metaFile}: the head expects ${d} inputs but lists ${meta.columns.length} columns`);
  return { dir, meta, weights: { d, k: meta.genres.length, hidden: meta.head.config.hidden, arrays, shapes: meta.head.shapes } };
}

/** Scores and genres for rows of a dataset encoded the same way the checkpoint was trained. */
export function scoreWithCheckpoint(ckpt: Checkpoint, ds: LabelledDataset, rows: number[]): { scores: Float32Array; genres: string[][] } {
  const t = take(ds, ckpt.meta.blocks, rows);
  if (t.d !== ckpt.weights.d) throw new UserError(`features have ${t.d} columns, the checkpoint expects ${ckpt.weights.d} (different backbones or input set?)`);
  const scaler = { mean: Float32Array.from(ckpt.meta.scaler.mean), std: Float32Array.from(ckpt.meta.scaler.std) };
  const scores = predictPooledHead(ckpt.weights, applyScaler(t.x, t.n, t.d, scaler), t.n);
  const k = ckpt.meta.genres.length;
  const genres = rows.map((_, i) => ckpt.meta.genres.filter((_, j) => scores[i * k + j] >= ckpt.meta.thresholds[j]));
  return { scores, genres };
}
