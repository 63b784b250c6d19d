import { answerFrom, comparisonWords } from "../../lib/train/compare";
import type { Comparison } from "../../lib/train/results";

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
