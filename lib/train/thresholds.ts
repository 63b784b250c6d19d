/**
 * Per-genre decision thresholds. At 0.5 a genre whose prior is ≈ 0.2 is almost never predicted
 * (the study's recall of 0.06-0.17), so each genre gets the threshold that maximises its F1 — tuned
 * on scores of rows the final model did not train on, and only ever on training-fold rows.
 */
import { descendingSweep } from "./metrics";

/**
 * The F1-maximising threshold of one genre: midway between the lowest score kept and the next one
 * below it, so it generalises rather than sitting exactly on a training score. A genre without
 * positives gets a threshold above every score (never predicted).
 */
export function bestF1Threshold(y: ArrayLike<number>, s: ArrayLike<number>): { threshold: number; f1: number } {
  const { pos, order, cuts } = descendingSweep(y, s);
  if (pos === 0) return { threshold: Number.POSITIVE_INFINITY, f1: 0 };
  let bestF1 = -1;
  let bestIdx = 0;
  for (const { tp, fp, kept } of cuts) {
    const f1 = (2 * tp) / (2 * tp + fp + (pos - tp));
    if (f1 > bestF1) {
      bestF1 = f1;
      bestIdx = kept; // rows [0, kept) are predicted positive
    }
  }
  const lowestKept = s[order[bestIdx - 1]];
  const nextBelow = bestIdx < y.length ? s[order[bestIdx]] : lowestKept - 1e-6;
  return { threshold: (lowestKept + nextBelow) / 2, f1: bestF1 };
}

/** {@link bestF1Threshold} for every genre of a row-major score matrix. */
export function tuneThresholds(y: Uint8Array, scores: Float32Array, n: number, k: number): number[] {
  const out: number[] = [];
  const col = new Uint8Array(n);
  const sc = new Float32Array(n);
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < n; i++) {
      col[i] = y[i * k + j];
      sc[i] = scores[i * k + j];
    }
    out.push(bestF1Threshold(col, sc).threshold);
  }
  return out;
}
