/** A synthetic FeatureSet whose embeddings carry genre signal and whose faces carry none (tests only). */
import type { FeatureSet, CoverRow } from "../../lib/features/store";
import { makeRng } from "../../lib/util/rng";

/** A face with random age, gender and happiness (the same draws, in the same order, as the rows always made). */
function syntheticFace(rng: () => number): CoverRow["faces"][number] {
  return {
    box: [10, 10, 50, 50],
    score: 0.9,
    age: 20 + rng() * 40,
    gender: rng() < 0.5 ? "male" : "female",
    genderScore: 0.9,
    race: "white",
    raceScore: 0.8,
    emotion: { angry: 0.1, disgust: 0, fear: 0.1, happy: rng(), sad: 0.1, surprise: 0.1, neutral: 0.3 },
  };
}

/** One cover row: colours drawn, then the face (the draws, in order, every synthetic set has always made). */
function syntheticRow(rng: () => number, collection: string, id: number, genres: string[], hasFace: boolean, error: string | null): CoverRow {
  return {
    collection,
    masterId: String(id),
    path: `images/${id}.jpg`,
    width: 300,
    height: 300,
    genres,
    isMultiLabeled: genres.length > 1,
    dominant: [rng() * 255, rng() * 255, rng() * 255],
    meanColour: [rng() * 255, rng() * 255, rng() * 255],
    faces: hasFace ? [syntheticFace(rng)] : [],
    error,
  };
}

export const SYN_GENRES = ["Electronic", "Folk, World, & Country", "Hip Hop", "Pop", "Rock"];

/**
 * `collections`: names of contiguous blocks of rows (as a table of several folders has), each
 * block's ids starting at 1000 again so ids collide across collections; default one collection.
 */
export function syntheticFeatureSet(n: number, seed = 1, dim = 32, signal = 1.5, collections: string[] = ["syn"]): FeatureSet {
  const rng = makeRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rng() + 1e-12)) * Math.cos(2 * Math.PI * rng());
  const probs = [0.4, 0.25, 0.15, 0.2, 0.35];
  const rows: CoverRow[] = [];
  const emb = new Float32Array(n * dim);
  const emb2 = new Float32Array(n * 8);
  for (let i = 0; i < n; i++) {
    let genres = SYN_GENRES.filter((_, j) => rng() < probs[j]);
    if (genres.length === 0) genres = [SYN_GENRES[Math.floor(rng() * SYN_GENRES.length)]];
    for (let d = 0; d < dim; d++) emb[i * dim + d] = gauss();
    SYN_GENRES.forEach((g, j) => {
      if (genres.includes(g)) emb[i * dim + j] += signal;
    });
    for (let d = 0; d < 8; d++) emb2[i * 8 + d] = gauss();
    const hasFace = rng() < 0.5;
    const block = Math.min(collections.length - 1, Math.floor((i * collections.length) / n));
    const id = 1000 + i - Math.ceil((block * n) / collections.length);
    rows.push(syntheticRow(rng, collections[block], id, genres, hasFace, i === 3 ? "cannot decode" : null));
  }
  const dirs = collections.map((c) => ({ name: c, dir: `/tmp/${c}`, layout: "labelled" as const, rows: rows.filter((r) => r.collection === c).length }));
  return { tablePath: "/tmp/syn.csv", coversDir: dirs[0].dir, collections: dirs, rows, embeddings: { mobilenet_v1: { dim, data: emb }, inception_v3: { dim: 8, data: emb2 } } };
}

/** One collection of {@link syntheticCollections}. */
export interface SyntheticPart {
  name: string;
  n: number;
  /** Added to embedding dim `signalOffset + j` of every row with genre j. Default 1.5. */
  signal?: number;
  /** Where the genre signal lives in the embedding (genre j → dim signalOffset + j). Default 0. */
  signalOffset?: number;
  /** Probability of each of SYN_GENRES. Default the probabilities of {@link syntheticFeatureSet}. */
  probs?: number[];
  /**
   * Each row's genres relabelled through a cyclic shift of SYN_GENRES (genre j → j + 1) after the
   * signal was planted: the embedding says j, the label says j + 1 (conflicting data).
   */
  shiftLabels?: boolean;
}

/**
 * A synthetic table of several collections with sizes, signals and genre mixes of their own (each
 * a contiguous block of rows, ids starting at 1000 in every block so they collide). No row has an
 * extraction error; about half have a face. Tests only.
 */
export function syntheticCollections(parts: SyntheticPart[], seed = 1, dim = 16): FeatureSet {
  const rng = makeRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rng() + 1e-12)) * Math.cos(2 * Math.PI * rng());
  const n = parts.reduce((a, p) => a + p.n, 0);
  const rows: CoverRow[] = [];
  const emb = new Float32Array(n * dim);
  const emb2 = new Float32Array(n * 8);
  let i = 0;
  for (const part of parts) {
    const probs = part.probs ?? [0.4, 0.25, 0.15, 0.2, 0.35];
    const signal = part.signal ?? 1.5;
    const offset = part.signalOffset ?? 0;
    if (offset + SYN_GENRES.length > dim) throw new Error(`signalOffset ${offset} does not fit in ${dim} dims`);
    for (let m = 0; m < part.n; m++, i++) {
      let js = SYN_GENRES.map((_, j) => j).filter((j) => rng() < probs[j]);
      if (js.length === 0) {
        const allowed = SYN_GENRES.map((_, j) => j).filter((j) => probs[j] > 0);
        js = [allowed[Math.floor(rng() * allowed.length)]];
      }
      for (let d = 0; d < dim; d++) emb[i * dim + d] = gauss();
      for (const j of js) emb[i * dim + offset + j] += signal;
      for (let d = 0; d < 8; d++) emb2[i * 8 + d] = gauss();
      const labels = part.shiftLabels ? js.map((j) => (j + 1) % SYN_GENRES.length) : js;
      const genres = SYN_GENRES.filter((_, j) => labels.includes(j));
      const hasFace = rng() < 0.5;
      rows.push(syntheticRow(rng, part.name, 1000 + m, genres, hasFace, null));
    }
  }
  const dirs = parts.map((p) => ({ name: p.name, dir: `/tmp/${p.name}`, layout: "labelled" as const, rows: p.n }));
  return { tablePath: "/tmp/syn.csv", coversDir: dirs[0].dir, collections: dirs, rows, embeddings: { mobilenet_v1: { dim, data: emb }, inception_v3: { dim: 8, data: emb2 } } };
}
