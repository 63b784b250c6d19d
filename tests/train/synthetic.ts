/** A synthetic FeatureSet whose embeddings carry genre signal and whose faces carry none (tests only). */
import type { FeatureSet, CoverRow } from "../../lib/features/store";
import { makeRng } from "../../lib/util/rng";

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
    rows.push({
      collection: collections[block],
      masterId: String(id),
      path: `images/${id}.jpg`,
      width: 300,
      height: 300,
      genres,
      isMultiLabeled: genres.length > 1,
      dominant: [rng() * 255, rng() * 255, rng() * 255],
      meanColour: [rng() * 255, rng() * 255, rng() * 255],
      faces: hasFace
        ? [
            {
              box: [10, 10, 50, 50],
              score: 0.9,
              age: 20 + rng() * 40,
              gender: rng() < 0.5 ? "male" : "female",
              genderScore: 0.9,
              race: "white",
              raceScore: 0.8,
              emotion: { angry: 0.1, disgust: 0, fear: 0.1, happy: rng(), sad: 0.1, surprise: 0.1, neutral: 0.3 },
            },
          ]
        : [],
      error: i === 3 ? "cannot decode" : null,
    });
  }
  const dirs = collections.map((c) => ({ name: c, dir: `/tmp/${c}`, layout: "labelled" as const, rows: rows.filter((r) => r.collection === c).length }));
  return { tablePath: "/tmp/syn.csv", coversDir: dirs[0].dir, collections: dirs, rows, embeddings: { mobilenet_v1: { dim, data: emb }, inception_v3: { dim: 8, data: emb2 } } };
}
