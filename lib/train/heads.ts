/**
 * Fast heads on cached, pooled features: logistic regression (hidden = 0) or a one-hidden-layer
 * MLP, with L2, dropout and class weighting, trained by a hand-written Adam loop in tfjs. The
 * backbone never runs here: features come from the table's embedding sidecars, so one fit takes
 * about a second instead of minutes.
 *
 * Why class weighting: genres have priors of 0.1-0.5; unweighted BCE pushes rare genres' scores
 * towards 0. "Balanced" weights (n / 2·count) make both classes count equally per genre; the
 * per-genre thresholds tuned afterwards turn scores into decisions anyway.
 */
import { tf } from "../tf";
import { makeRng, permutation } from "../util/rng";

export interface PooledHeadConfig {
  /** Hidden units; 0 = logistic regression (linear). */
  hidden: number;
  /** Dropout on the input (logistic) or on the hidden layer (MLP). */
  dropout: number;
  /** L2 penalty: l2 × the sum of squared weights (biases excluded), added to the mean loss. */
  l2: number;
  epochs: number;
  /** At least this many optimiser steps (small datasets get more epochs, so they converge too). */
  minSteps: number;
  batchSize: number;
  learningRate: number;
  classWeighting: boolean;
  seed: number;
}

/**
 * Defaults chosen by measurement: 5-fold CV of the img input (both backbones, 1,792-d) on the 3,763
 * shared covers (seed 42), micro-F1 / macro AUC. The first guess (lr 1e-2, 20 epochs, a tiny L2)
 * gave 0.397 / 0.653; stronger L2 and a slower, longer schedule gave 0.431 / 0.706 (lr 3e-3, 40
 * epochs, L2 0.03 on the summed squared weights; 0.01 → 0.427 / 0.696, 0.1 → 0.430 / 0.704; no class
 * weighting 0.431 / 0.702; batch 64 0.421 / 0.688). The penalty is on the *sum* of squared weights so
 * that a 19-input face+colour head is not regularised 100x harder than a 1,792-input image head.
 * Chosen on the covers the study reports on, so treat the last digit as mildly optimistic.
 */
export const DEFAULT_HEAD: PooledHeadConfig = {
  hidden: 0,
  // No input dropout for the linear head: L2 regularises it, and dropout masks over 2,000 inputs
  // cost more than the rest of a step on wasm.
  dropout: 0,
  l2: 0.03,
  epochs: 40,
  minSteps: 150,
  batchSize: 256,
  learningRate: 3e-3,
  classWeighting: true,
  seed: 1,
};

export function headName(cfg: PooledHeadConfig): string {
  return cfg.hidden > 0 ? `mlp${cfg.hidden}` : "logistic";
}

/** Plain weights of a fitted head (what a checkpoint stores). */
export interface HeadWeights {
  d: number;
  k: number;
  hidden: number;
  /** Layer tensors as flat arrays: [w1 (d×h), b1 (h), w2 (h×k), b2 (k)] or [w (d×k), b (k)]. */
  arrays: Float32Array[];
  shapes: number[][];
}

export interface FitLog {
  epoch: number;
  loss: number;
}

/** Fit a head on x (n×d, already standardised) and y (n×k). Tensors are disposed before returning. */
export function fitPooledHead(x: Float32Array, n: number, d: number, y: Uint8Array, k: number, cfg: PooledHeadConfig, log?: FitLog[]): HeadWeights {
  const rng = makeRng(cfg.seed);
  const init = (rows: number, cols: number, scale: number) => {
    const a = new Float32Array(rows * cols);
    // Glorot-uniform from the seeded generator (tf's initialisers take a seed but not our stream).
    for (let i = 0; i < a.length; i++) a[i] = (rng() * 2 - 1) * scale;
    return a;
  };
  const shapes = cfg.hidden > 0 ? [[d, cfg.hidden], [cfg.hidden], [cfg.hidden, k], [k]] : [[d, k], [k]];
  // tf.variable copies its initial value: create inside tidy so the initial tensors are freed.
  const vars = shapes.map((s) =>
    tf.tidy(() =>
      // Logistic regression starts at zero (a convex problem needs no symmetry breaking, and random
      // starting weights on 2,000 inputs are pure noise); the MLP needs Glorot-uniform.
      tf.variable(s.length === 1 || cfg.hidden === 0 ? tf.zeros(s) : tf.tensor(init(s[0], s[1], Math.sqrt(6 / (s[0] + s[1]))), s), true),
    ),
  );
  // Per-genre class weights for positives and negatives.
  const wPos = new Float32Array(k).fill(1);
  const wNeg = new Float32Array(k).fill(1);
  if (cfg.classWeighting) {
    for (let j = 0; j < k; j++) {
      let pos = 0;
      for (let i = 0; i < n; i++) pos += y[i * k + j];
      if (pos > 0 && pos < n) {
        wPos[j] = n / (2 * pos);
        wNeg[j] = n / (2 * (n - pos));
      }
    }
  }
  const wPosT = tf.tensor1d(wPos);
  const wNegT = tf.tensor1d(wNeg);
  // Adam by hand: tf.train.adam leaks one tensor per optimizer (tfjs 4.22), which adds up over the
  // hundreds of fits of a study.
  const m = vars.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
  const s2 = vars.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
  const beta1 = 0.9;
  const beta2 = 0.999;
  let step = 0;
  // One batch buffer per fit, not one per step: a fresh 256 × 1,792 Float32Array every step (≈ 1 GB
  // per fit) kept V8's garbage collector busy on a second core — which fold workers need for
  // themselves. Safe to reuse: the tensor made from it is disposed at the end of its step.
  const xBuf = new Float32Array(Math.min(n, cfg.batchSize) * d);
  const yBuf = new Float32Array(Math.min(n, cfg.batchSize) * k);
  try {
    const epochs = Math.max(cfg.epochs, Math.ceil(cfg.minSteps / Math.ceil(n / cfg.batchSize)));
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = permutation(n, rng);
      let lossSum = 0;
      let batches = 0;
      for (let start = 0; start < n; start += cfg.batchSize) {
        const batchIdx = order.slice(start, start + cfg.batchSize);
        const dropSeed = Math.floor(rng() * 2 ** 31);
        step++;
        const lr = (cfg.learningRate * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
        const lossValue = tf.tidy(() => {
          // Batches are cut in JS (a row copy is cheaper than tf.gather on wasm).
          const xa = xBuf.subarray(0, batchIdx.length * d);
          const ya = yBuf.subarray(0, batchIdx.length * k);
          batchIdx.forEach((r, i) => {
            xa.set(x.subarray(r * d, (r + 1) * d), i * d);
            for (let j = 0; j < k; j++) ya[i * k + j] = y[r * k + j];
          });
          const xb = tf.tensor2d(xa, [batchIdx.length, d]);
          const yb = tf.tensor2d(ya, [batchIdx.length, k]);
          const { value, grads } = tf.variableGrads(() => {
            const logits = forward(xb, vars, cfg, true, dropSeed);
            const bce = logits.relu().sub(logits.mul(yb)).add(logits.abs().neg().exp().log1p());
            const w = yb.mul(wPosT).add(tf.scalar(1).sub(yb).mul(wNegT));
            let loss = bce.mul(w).mean();
            if (cfg.l2 > 0) {
              const sq = vars.filter((_, i) => shapes[i].length === 2).map((v) => v.square().sum());
              loss = loss.add(tf.addN(sq).mul(cfg.l2));
            }
            return loss as tf.Scalar;
          }, vars);
          vars.forEach((v, i) => {
            const g = grads[v.name];
            m[i].assign(m[i].mul(beta1).add(g.mul(1 - beta1)));
            s2[i].assign(s2[i].mul(beta2).add(g.square().mul(1 - beta2)));
            v.assign(v.sub(m[i].div(s2[i].sqrt().add(1e-7)).mul(lr)));
          });
          return value.dataSync()[0];
        });
        lossSum += lossValue;
        batches++;
      }
      log?.push({ epoch: epoch + 1, loss: lossSum / batches });
    }
    return { d, k, hidden: cfg.hidden, arrays: vars.map((v) => v.dataSync().slice() as Float32Array), shapes };
  } finally {
    tf.dispose([wPosT, wNegT, ...vars, ...m, ...s2]);
  }
}

function forward(x: tf.Tensor2D, vars: tf.Tensor[], cfg: Pick<PooledHeadConfig, "hidden" | "dropout">, training: boolean, seed = 0): tf.Tensor2D {
  if (cfg.hidden > 0) {
    let h = tf.relu(tf.matMul(x, vars[0] as tf.Tensor2D).add(vars[1]));
    if (training && cfg.dropout > 0) h = tf.dropout(h, cfg.dropout, undefined, seed);
    return tf.matMul(h as tf.Tensor2D, vars[2] as tf.Tensor2D).add(vars[3]) as tf.Tensor2D;
  }
  const xin = training && cfg.dropout > 0 ? (tf.dropout(x, cfg.dropout, undefined, seed) as tf.Tensor2D) : x;
  return tf.matMul(xin, vars[0] as tf.Tensor2D).add(vars[1]) as tf.Tensor2D;
}

/** Sigmoid scores (n×k) of a fitted head; works in batches so a large n never holds big tensors. */
export function predictPooledHead(w: HeadWeights, x: Float32Array, n: number, batch = 1024): Float32Array {
  const out = new Float32Array(n * w.k);
  const vars = w.arrays.map((a, i) => tf.tensor(a, w.shapes[i]));
  try {
    for (let start = 0; start < n; start += batch) {
      const m = Math.min(batch, n - start);
      const scores = tf.tidy(() => {
        const xb = tf.tensor2d(x.subarray(start * w.d, (start + m) * w.d), [m, w.d]);
        return forward(xb, vars, { hidden: w.hidden, dropout: 0 }, false).sigmoid();
      });
      out.set(scores.dataSync(), start * w.k);
      scores.dispose();
    }
  } finally {
    tf.dispose(vars);
  }
  return out;
}
