import { answerFrom, compareResults, comparisonWords } from "../../lib/train/compare";
import type { Comparison, StudyResults } from "../../lib/train/results";
import { correctedResampledTTest } from "../../lib/train/stats";

function cmp(a: string, b: string, metric: string, delta: number, ci: [number, number], pHolm: number): Comparison {
  const base = { a, b, population: "faces" as const, metric, delta, ci, p: pHolm, pHolm, higherIsBetter: true };
  return { ...base, words: comparisonWords(base) } as Comparison;
}

describe("the answer to the faces question", () => {
  const comparisons = [
    cmp("img+face", "img", "microF1", 0.002, [-0.027, 0.032], 1),
    cmp("img+face+clr", "img+clr", "microF1", 0.004, [-0.022, 0.03], 1),
    cmp("face+clr", "clr", "microF1", 0.045, [0.001, 0.088], 0.36),
    cmp("img+face", "img", "rocAucMacro", 0.0096, [0.006, 0.013], 0.001),
    cmp("img+face+clr", "img+clr", "rocAucMacro", 0.0097, [0.006, 0.013], 0.001),
    cmp("face+clr", "clr", "rocAucMacro", 0.109, [0.085, 0.133], 0.0001),
  ];

  test("leads with faces on top of the image, per metric, with the primary effect and its CI", () => {
    const answer = answerFrom(comparisons, "faces");
    const first = answer.split(/(?<=\.) /)[0];
    expect(first).toBe(
      "Added to the image, faces make no detectable difference to micro-F1 (img+face vs img on covers with faces: +0.002, 95 % CI −0.027 to +0.032; 0 of 2 comparisons significant after Holm), " +
        "and improve macro ROC-AUC (img+face vs img on covers with faces: +0.010, 95 % CI +0.006 to +0.013; 2 of 2 comparisons significant after Holm).",
    );
    // the image-free comparison (a different question) is stated second, not counted with the first
    expect(answer).toContain("Without the image, faces make no detectable difference to micro-F1 (face+clr vs clr");
    expect(answer).toContain("and improve macro ROC-AUC (face+clr vs clr on covers with faces: +0.109");
  });

  test("a significant decline is called a decline; singular questions agree", () => {
    const worse = [cmp("img+clr", "img", "microF1", -0.05, [-0.08, -0.02], 0.01)];
    expect(answerFrom(worse, "colour")).toMatch(/^Added to the image, colour worsens micro-F1 \(img\+clr vs img/);
    expect(answerFrom([], "faces")).toBe("Not answered: no comparison about faces could be run.");
  });
});

describe("compareResults: two studies on identical folds", () => {
  const est = (perFold: number[]) => ({ mean: perFold.reduce((x, y) => x + y, 0) / perFold.length, ci: [0, 1] as [number, number], perFold });
  const study = (img: number[], auc: number[], foldSizes = [{ repeat: 0, fold: 0, trainSize: 80, testSize: 20 }]) =>
    ({
      protocol: { folds: 5, repeats: 2, seed: 42, foldSizes, populations: { faces: 50, all: 100 }, imgBackbones: ["x"] },
      dataset: { genres: ["Rock", "Pop"] },
      inputSets: {},
      allCovers: { img: { microF1: est(img), rocAucMacro: est(auc) } },
    }) as unknown as StudyResults;

  test("a − b per fold with the corrected t, Holm across metrics; only input sets both have", () => {
    const a = study([0.5, 0.52, 0.51, 0.53, 0.5], [0.7, 0.71, 0.72, 0.7, 0.71]);
    const b = study([0.48, 0.5, 0.5, 0.5, 0.49], [0.7, 0.71, 0.72, 0.7, 0.71]);
    const d = compareResults(a, b);
    expect(d.map((x) => [x.population, x.inputSet, x.metric])).toEqual([["all", "img", "microF1"], ["all", "img", "rocAucMacro"]]);
    const f1 = d[0];
    expect(f1.delta).toBeCloseTo(0.018, 10); // mean of 0.02, 0.02, 0.01, 0.03, 0.01
    const t = correctedResampledTTest([0.02, 0.02, 0.01, 0.03, 0.01], 20 / 80);
    expect(f1.ci[0]).toBeCloseTo(t.ci[0], 10);
    expect(f1.p).toBeCloseTo(t.p, 10);
    expect(d[1].delta).toBeCloseTo(0, 12); // identical AUCs
    expect(f1.pHolm).toBeGreaterThanOrEqual(f1.p);
  });

  test("results made on different folds are refused", () => {
    const a = study([0.5, 0.5], [0.7, 0.7]);
    const b = study([0.5, 0.5], [0.7, 0.7], [{ repeat: 0, fold: 0, trainSize: 79, testSize: 21 }]);
    expect(() => compareResults(a, b)).toThrow(/same folds/);
  });
});
