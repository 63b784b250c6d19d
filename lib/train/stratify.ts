/**
 * Iterative stratification for multi-label data (Sechidis, Tsoumakas & Vlahavas 2011, "On the
 * stratification of multi-label data"). Plain random k-fold leaves rare genres unevenly spread
 * across folds, which makes per-genre metrics and threshold tuning noisy; no JS library has it.
 *
 * The algorithm: repeatedly take the label with the fewest unassigned rows and hand each of its
 * rows to the fold that most wants that label (then the fold that most wants rows, then at random).
 *
 * Folds are lists of row indices into one dataset object, so a row can never be separated from its
 * label (the study's later notebook shuffled X and y with different seeds).
 */
import { makeRng, shuffleInPlace } from "../util/rng";

/** Row-major 0/1 label matrix: `y[i * k + j]` is 1 when row i has genre j. */
export interface LabelMatrix {
  y: Uint8Array;
  n: number;
  k: number;
}

export interface Fold {
  repeat: number;
  fold: number;
  /** Row indices (sorted). */
  train: number[];
  test: number[];
}

/**
 * Assign each row to one of `proportions.length` parts so that each part gets about its share of
 * the rows and of every label. Returns the part index of each row. Deterministic for a seed.
 */
export function iterativeStratification(labels: LabelMatrix, proportions: number[], seed: number): Int32Array {
  const { y, n, k } = labels;
  const parts = proportions.length;
  if (parts < 2) throw new Error("iterative stratification needs at least 2 parts");
  const total = proportions.reduce((a, b) => a + b, 0);
  const r = proportions.map((p) => p / total);
  const rng = makeRng(seed);
  const assignment = new Int32Array(n).fill(-1);
  const wantRows = r.map((p) => p * n);
  const wantLabel: number[][] = r.map(() => new Array(k).fill(0));
  const rowsOfLabel: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) if (y[i * k + j]) rowsOfLabel[j].push(i);
  }
  for (let p = 0; p < parts; p++) for (let j = 0; j < k; j++) wantLabel[p][j] = rowsOfLabel[j].length * r[p];
  const remaining = rowsOfLabel.map((rows) => rows.length);

  const pickPart = (candidates: number[]): number => {
    if (candidates.length === 1) return candidates[0];
    let best = -Infinity;
    let tied: number[] = [];
    for (const p of candidates) {
      if (wantRows[p] > best + 1e-9) {
        best = wantRows[p];
        tied = [p];
      } else if (Math.abs(wantRows[p] - best) <= 1e-9) tied.push(p);
    }
    return tied[Math.floor(rng() * tied.length)];
  };

  const assign = (i: number, p: number): void => {
    assignment[i] = p;
    wantRows[p] -= 1;
    for (let j = 0; j < k; j++) {
      if (y[i * k + j]) {
        wantLabel[p][j] -= 1;
        remaining[j] -= 1;
      }
    }
  };

  for (;;) {
    // The label with the fewest unassigned rows (ties at random): rare labels are placed first,
    // while every fold still has room for them.
    let fewest = Infinity;
    let labelTies: number[] = [];
    for (let j = 0; j < k; j++) {
      if (remaining[j] <= 0) continue;
      if (remaining[j] < fewest) {
        fewest = remaining[j];
        labelTies = [j];
      } else if (remaining[j] === fewest) labelTies.push(j);
    }
    if (labelTies.length === 0) break;
    const l = labelTies[Math.floor(rng() * labelTies.length)];
    const rows = shuffleInPlace(rowsOfLabel[l].filter((i) => assignment[i] < 0), rng);
    for (const i of rows) {
      let best = -Infinity;
      let candidates: number[] = [];
      for (let p = 0; p < parts; p++) {
        const w = wantLabel[p][l];
        if (w > best + 1e-9) {
          best = w;
          candidates = [p];
        } else if (Math.abs(w - best) <= 1e-9) candidates.push(p);
      }
      assign(i, pickPart(candidates));
    }
  }
  // Rows without any label go where rows are most wanted.
  const unlabelled = shuffleInPlace(
    Array.from({ length: n }, (_, i) => i).filter((i) => assignment[i] < 0),
    rng,
  );
  for (const i of unlabelled) assign(i, pickPart(Array.from({ length: parts }, (_, p) => p)));
  return assignment;
}

/** k folds × r repeats of iterative stratification; repeat `t` uses seed `seed + t`. */
export function repeatedStratifiedFolds(labels: LabelMatrix, folds: number, repeats: number, seed: number): Fold[] {
  if (!Number.isInteger(folds) || folds < 2) throw new Error(`folds must be an integer ≥ 2, got ${folds}`);
  if (labels.n < folds) throw new Error(`${labels.n} rows cannot be split into ${folds} folds`);
  const out: Fold[] = [];
  for (let t = 0; t < repeats; t++) {
    const assignment = iterativeStratification(labels, new Array(folds).fill(1), seed + t);
    for (let f = 0; f < folds; f++) {
      const train: number[] = [];
      const test: number[] = [];
      for (let i = 0; i < labels.n; i++) (assignment[i] === f ? test : train).push(i);
      out.push({ repeat: t, fold: f, train, test });
    }
  }
  return out;
}

/** One stratified train/test split (the study's 900/116-style hold-out), seeded. */
export function stratifiedHoldout(labels: LabelMatrix, testFraction: number, seed: number): { train: number[]; test: number[] } {
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`testFraction must be in (0, 1), got ${testFraction}`);
  const assignment = iterativeStratification(labels, [1 - testFraction, testFraction], seed);
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < labels.n; i++) (assignment[i] === 1 ? test : train).push(i);
  return { train, test };
}

/** Plain random k-fold (the comparison point for the stratification test). */
export function randomFolds(n: number, folds: number, seed: number): Int32Array {
  const rng = makeRng(seed);
  const order = shuffleInPlace(Array.from({ length: n }, (_, i) => i), rng);
  const assignment = new Int32Array(n);
  order.forEach((row, pos) => (assignment[row] = pos % folds));
  return assignment;
}

/**
 * Label distribution (LD) from Sechidis et al.: mean over labels of the mean absolute difference
 * between each part's positive/negative ratio and the whole set's. 0 = perfectly balanced.
 */
export function labelDistributionScore(labels: LabelMatrix, assignment: Int32Array, parts: number): number {
  const { y, n, k } = labels;
  let sum = 0;
  for (let j = 0; j < k; j++) {
    let pos = 0;
    for (let i = 0; i < n; i++) pos += y[i * k + j];
    const whole = pos / Math.max(1, n - pos);
    let dev = 0;
    for (let p = 0; p < parts; p++) {
      let pp = 0;
      let np = 0;
      for (let i = 0; i < n; i++) {
        if (assignment[i] !== p) continue;
        np++;
        pp += y[i * k + j];
      }
      dev += Math.abs(pp / Math.max(1, np - pp) - whole);
    }
    sum += dev / parts;
  }
  return sum / k;
}
