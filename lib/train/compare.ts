/**
 * Paired comparisons of input sets on identical folds: corrected resampled t-test per comparison,
 * Holm across all of them, and one sentence per comparison that a lecturer can read out.
 */
import type { Comparison, InputSetResult, StudyResults } from "./results";
import { UserError } from "../util/errors";
import { higherIsBetter } from "./results";
import { correctedResampledTTest, holm } from "./stats";

export interface ComparisonRequest {
  a: string;
  b: string;
  population: "faces" | "all";
  metric: string;
}

function fmt(x: number, digits = 3): string {
  const s = x.toFixed(digits);
  return x > 0 ? `+${s}` : s.replace("-", "−");
}

const METRIC_WORDS: Record<string, string> = {
  microF1: "micro-F1",
  macroF1: "macro-F1",
  rocAucMacro: "macro ROC-AUC",
  lrap: "LRAP",
  hammingLoss: "Hamming loss",
  subsetAccuracy: "subset accuracy",
  top1Accuracy: "top-1 accuracy",
};

/** Words for one comparison (the verdict follows the Holm-adjusted p and the interval). */
export function comparisonWords(c: Omit<Comparison, "words">): string {
  const metric = METRIC_WORDS[c.metric] ?? c.metric;
  const where = c.population === "faces" ? "on covers with faces" : "on all covers";
  const better = c.higherIsBetter ? c.delta > 0 : c.delta < 0;
  const significant = c.pHolm < 0.05;
  const verdict = significant
    ? better
      ? "a real improvement, though the interval shows how large it can be"
      : "a real decline"
    : c.ci[0] <= 0 && c.ci[1] >= 0
      ? "no detectable effect (the interval includes zero)"
      : "not significant after correcting for the number of comparisons";
  return `${c.a} vs ${c.b} ${where}: ${metric} changes by ${fmt(c.delta)} (95 % CI ${fmt(c.ci[0])} to ${fmt(c.ci[1])}, Holm-adjusted p = ${c.pHolm.toFixed(3)}): ${verdict}.`;
}

/** Run the requested comparisons; fold values come from each result's `perFold`. */
export function compareInputSets(
  requests: ComparisonRequest[],
  lookup: (population: "faces" | "all", name: string) => InputSetResult | undefined,
  testTrainRatio: (population: "faces" | "all") => number,
): Comparison[] {
  const raw = requests.flatMap((r) => {
    const A = lookup(r.population, r.a);
    const B = lookup(r.population, r.b);
    const fa = (A as unknown as Record<string, { perFold?: number[] }> | undefined)?.[r.metric]?.perFold;
    const fb = (B as unknown as Record<string, { perFold?: number[] }> | undefined)?.[r.metric]?.perFold;
    if (!fa || !fb || fa.length !== fb.length) return [];
    const d = fa.map((v, i) => v - fb[i]);
    const t = correctedResampledTTest(d, testTrainRatio(r.population));
    return [{ ...r, delta: t.mean, ci: t.ci, p: t.p, higherIsBetter: higherIsBetter(r.metric) }];
  });
  const adjusted = holm(raw.map((c) => c.p));
  return raw.map((c, i) => {
    const base = { ...c, pHolm: adjusted[i] };
    return { ...base, words: comparisonWords(base) };
  });
}

/**
 * A one-paragraph answer for one question ("faces", "colour") from its comparisons.
 *
 * The question a lecturer asks is whether faces help *on top of the image*; whether face attributes
 * carry genre signal on their own (face+clr vs clr) is a different, easier question. So the answer
 * leads with the comparisons whose baseline contains the image, then states the image-free ones,
 * each per metric with the first (primary) comparison's effect and CI and how many of the family
 * are significant after Holm. The per-comparison sentences follow.
 */
export function answerFrom(comparisons: Comparison[], question: string): string {
  if (comparisons.length === 0) return `Not answered: no comparison about ${question} could be run.`;
  const hasImage = (name: string) => name.split("+").includes("img");
  const onTop = comparisons.filter((c) => hasImage(c.b));
  const alone = comparisons.filter((c) => !hasImage(c.b));
  const parts: string[] = [];
  const plural = question.endsWith("s");
  if (onTop.length) parts.push(summarise(`Added to the image, ${question}`, onTop, plural));
  if (alone.length) parts.push(summarise(`Without the image, ${question}`, alone, plural));
  return [...parts, ...comparisons.map((c) => c.words)].join(" ");
}

function summarise(lead: string, family: Comparison[], plural: boolean): string {
  const v = (verb: string) => (plural ? verb : `${verb}s`);
  const metrics = [...new Set(family.map((c) => c.metric))];
  const clauses = metrics.map((metric) => {
    const cs = family.filter((c) => c.metric === metric);
    const improves = (c: Comparison) => c.pHolm < 0.05 && (c.higherIsBetter ? c.delta > 0 : c.delta < 0);
    const worsens = (c: Comparison) => c.pHolm < 0.05 && (c.higherIsBetter ? c.delta < 0 : c.delta > 0);
    const up = cs.filter(improves).length;
    const down = cs.filter(worsens).length;
    const verb =
      up === cs.length
        ? v("improve")
        : down === cs.length
          ? v("worsen")
          : up === 0 && down === 0
            ? `${v("make")} no detectable difference to`
            : `${v("change")} (${up} better, ${down} worse of ${cs.length})`;
    const p = cs[0];
    const where = p.population === "faces" ? "covers with faces" : "all covers";
    const detail = `${p.a} vs ${p.b} on ${where}: ${fmt(p.delta)}, 95 % CI ${fmt(p.ci[0])} to ${fmt(p.ci[1])}; ${up + down} of ${cs.length} comparisons significant after Holm`;
    return `${verb} ${METRIC_WORDS[metric] ?? metric} (${detail})`;
  });
  return `${lead} ${clauses.join(", and ")}.`;
}

/** One input set of two studies on identical folds: a − b per metric, paired by fold. */
export interface CrossStudyDelta {
  population: "faces" | "all";
  inputSet: string;
  metric: string;
  a: number;
  b: number;
  delta: number;
  ci: [number, number];
  p: number;
  pHolm: number;
}

/**
 * Compare two results.json written on the same covers with the same folds (e.g. one backbone's
 * study against another's: the folds depend only on the rows, labels, collections and seed, never
 * on the features). Refuses results whose protocol or fold sizes differ, since the pairing would be
 * meaningless; every input set both have is compared on micro-F1 and macro ROC-AUC, Holm across all.
 */
export function compareResults(a: StudyResults, b: StudyResults, metrics: string[] = ["microF1", "rocAucMacro"]): CrossStudyDelta[] {
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  const pa = a.protocol;
  const pb = b.protocol;
  if (pa.folds !== pb.folds || pa.repeats !== pb.repeats || pa.seed !== pb.seed || !same(pa.foldSizes, pb.foldSizes) || !same(pa.populations, pb.populations) || !same(a.dataset.genres, b.dataset.genres)) {
    throw new UserError("the two results were not made on the same folds (protocol, fold sizes, populations or genres differ): a paired comparison needs identical folds");
  }
  const raw: Omit<CrossStudyDelta, "pHolm">[] = [];
  for (const [population, setsA, setsB, ratio] of [
    ["faces", a.inputSets, b.inputSets, testTrainRatioOf(pa, "faces")],
    ["all", a.allCovers, b.allCovers, testTrainRatioOf(pa, "all")],
  ] as const) {
    for (const inputSet of Object.keys(setsA).filter((k) => k in setsB)) {
      for (const metric of metrics) {
        const fa = (setsA[inputSet] as unknown as Record<string, { mean: number; perFold?: number[] }>)[metric];
        const fb = (setsB[inputSet] as unknown as Record<string, { mean: number; perFold?: number[] }>)[metric];
        if (!fa?.perFold || !fb?.perFold || fa.perFold.length !== fb.perFold.length) continue;
        const t = correctedResampledTTest(fa.perFold.map((v, i) => v - fb.perFold![i]), ratio);
        raw.push({ population, inputSet, metric, a: fa.mean, b: fb.mean, delta: t.mean, ci: t.ci, p: t.p });
      }
    }
  }
  const adjusted = holm(raw.map((r) => r.p));
  return raw.map((r, i) => ({ ...r, pHolm: adjusted[i] }));
}

/** n_test / n_train of a population's folds, from the protocol (faces folds are sized like the faces population). */
function testTrainRatioOf(p: StudyResults["protocol"], population: "faces" | "all"): number {
  const n = population === "faces" ? p.populations.faces : p.populations.all;
  const test = n / p.folds;
  return test / Math.max(1, n - test);
}
