/**
 * Nearest training covers in the checkpoint's own space: each cover's features encoded exactly as
 * training did (same block builder and scaler), then passed through the head's hidden layer (ReLU).
 * That layer is what the head learned to separate genres with, so its neighbours show what "looks
 * like Hip Hop" means to this model; a head without a hidden layer falls back to the scaled inputs.
 * Similarity is cosine.
 */
import { tf } from "../tf";
import { readFeatureSet, type FeatureSet } from "../features/store";
import type { Checkpoint } from "../train/checkpoint";
import { applyScaler, buildDataset, take, usableRows, type LabelledDataset } from "../train/dataset";

export interface Neighbour {
  /** The cover's id in its collection (Discogs master id). */
  id: string;
  collection: string;
  /** Its true genres (those the checkpoint knows). */
  genres: string[];
  /** Cosine similarity in the checkpoint's space (−1..1). */
  similarity: number;
  /** Row of the index (for thumbnails). */
  row: number;
  /** Absolute cover file. */
  path: string;
}

/** The representation of dataset rows in the checkpoint's space, L2-normalised, n × dim. */
export function checkpointSpace(ckpt: Checkpoint, ds: LabelledDataset, rows: number[]): { data: Float32Array; dim: number } {
  const t = take(ds, ckpt.meta.blocks, rows);
  const scaler = { mean: Float32Array.from(ckpt.meta.scaler.mean), std: Float32Array.from(ckpt.meta.scaler.std) };
  const x = applyScaler(t.x, t.n, t.d, scaler);
  const w = ckpt.weights;
  if (!w.hidden) return { data: normaliseRows(x, t.n, t.d), dim: t.d };
  const h = tf.tidy(() => tf.relu(tf.matMul(tf.tensor2d(x, [t.n, t.d]), tf.tensor2d(w.arrays[0], [w.d, w.hidden])).add(tf.tensor1d(w.arrays[1]))));
  const data = h.dataSync() as Float32Array;
  h.dispose();
  return { data: normaliseRows(Float32Array.from(data), t.n, w.hidden), dim: w.hidden };
}

function normaliseRows(x: Float32Array, n: number, d: number): Float32Array {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j] ** 2;
    const norm = Math.sqrt(s) || 1;
    for (let j = 0; j < d; j++) x[i * d + j] /= norm;
  }
  return x;
}

/** The training collection in the checkpoint's space, ready for nearest-neighbour queries. */
export class NeighbourIndex {
  private constructor(
    readonly ds: LabelledDataset,
    private readonly space: Float32Array,
    readonly dim: number,
  ) {}

  /** Index every usable row of a FeatureSet (the table the checkpoint was trained on). */
  static fromFeatureSet(ckpt: Checkpoint, fset: FeatureSet): NeighbourIndex {
    const ds = buildDataset(fset, usableRows(fset, ckpt.meta.genres).rows, { genres: ckpt.meta.genres, imgBackbones: ckpt.meta.imgBackbones, population: ckpt.meta.population });
    const all = Array.from({ length: ds.n }, (_, i) => i);
    const { data, dim } = checkpointSpace(ckpt, ds, all);
    return new NeighbourIndex(ds, data, dim);
  }

  /** Read the table (default: the one the checkpoint names) and index it. */
  static async fromTable(ckpt: Checkpoint, tablePath: string = ckpt.meta.trainedOn.table): Promise<NeighbourIndex> {
    return NeighbourIndex.fromFeatureSet(ckpt, await readFeatureSet(tablePath));
  }

  get size(): number {
    return this.ds.n;
  }

  /** The `k` rows most similar to a vector of this space (from {@link checkpointSpace}), best first. */
  nearest(vector: Float32Array, k = 8): Neighbour[] {
    if (vector.length !== this.dim) throw new Error(`a query of ${vector.length} values in a space of ${this.dim}`);
    const sims = new Float32Array(this.ds.n);
    for (let i = 0; i < this.ds.n; i++) {
      let s = 0;
      const o = i * this.dim;
      for (let j = 0; j < this.dim; j++) s += this.space[o + j] * vector[j];
      sims[i] = s;
    }
    const order = Array.from(sims.keys()).sort((a, b) => sims[b] - sims[a]).slice(0, k);
    return order.map((r) => ({
      id: this.ds.ids[r],
      collection: this.ds.collections[r],
      genres: this.ds.genres.filter((_, j) => this.ds.y[r * this.ds.k + j]),
      similarity: Number(sims[r].toFixed(4)),
      row: r,
      path: this.ds.paths[r],
    }));
  }
}
