/**
 * Statistics for comparing models evaluated on the same cross-validation folds.
 *
 * Fold scores are not independent (training sets overlap), so the naive paired t-test is far too
 * eager to call a difference real. Nadeau & Bengio (2003) correct the variance by
 * (1/J + n_test/n_train); Bouckaert & Frank (2004) showed this "corrected resampled t-test" keeps
 * its nominal error rate for repeated k-fold CV. Holm's step-down method then controls the
 * family-wise error across all comparisons of a study.
 */

export function mean(xs: number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample variance (n − 1). */
export function variance(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) * (x - m), 0) / (xs.length - 1);
}

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9).
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularised incomplete beta (Numerical Recipes' betacf). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const maxIter = 300;
  const eps = 3e-14;
  const fpmin = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < fpmin) d = fpmin;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= maxIter; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < fpmin) d = fpmin;
    c = 1 + aa / c;
    if (Math.abs(c) < fpmin) c = fpmin;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < fpmin) d = fpmin;
    c = 1 + aa / c;
    if (Math.abs(c) < fpmin) c = fpmin;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < eps) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const bt = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (bt * betaContinuedFraction(a, b, x)) / a;
  return 1 - (bt * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** CDF of Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  const tail = 0.5 * incompleteBeta(x, df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Quantile of Student's t (bisection on the CDF; plenty fast for a few hundred calls). */
export function studentTQuantile(p: number, df: number): number {
  if (p <= 0 || p >= 1) throw new Error(`quantile p must be in (0, 1), got ${p}`);
  let lo = -1e3;
  let hi = 1e3;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface CorrectedTTest {
  mean: number;
  /** Corrected standard error of the mean. */
  se: number;
  t: number;
  df: number;
  /** Two-sided p-value. */
  p: number;
  /** 95 % interval of the mean under the corrected variance. */
  ci: [number, number];
}

/**
 * The corrected resampled t-test (Nadeau & Bengio 2003) on per-fold values `d` (differences of two
 * models on the same folds, or one model's scores for an interval). `testTrainRatio` is
 * n_test / n_train of one fold (1/(k−1) for k-fold CV).
 */
export function correctedResampledTTest(d: number[], testTrainRatio: number, level = 0.95): CorrectedTTest {
  const J = d.length;
  const m = mean(d);
  if (J < 2) return { mean: m, se: NaN, t: NaN, df: 0, p: NaN, ci: [NaN, NaN] };
  const v = variance(d);
  const se = Math.sqrt((1 / J + testTrainRatio) * v);
  const df = J - 1;
  const q = studentTQuantile(1 - (1 - level) / 2, df);
  if (se === 0) return { mean: m, se: 0, t: m === 0 ? 0 : Infinity, df, p: m === 0 ? 1 : 0, ci: [m, m] };
  const t = m / se;
  const p = 2 * (1 - studentTCdf(Math.abs(t), df));
  return { mean: m, se, t, df, p: Math.min(1, Math.max(0, p)), ci: [m - q * se, m + q * se] };
}

/** Holm's step-down adjustment: adjusted p-values in the input order (monotone, capped at 1). */
export function holm(pValues: number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    const v = Number.isNaN(p) ? NaN : Math.min(1, (m - rank) * p);
    running = Number.isNaN(v) ? running : Math.max(running, v);
    adjusted[i] = Number.isNaN(v) ? NaN : running;
  });
  return adjusted;
}
