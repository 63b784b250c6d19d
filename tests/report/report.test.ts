import * as fs from "node:fs";
import * as path from "node:path";
import { reportHtml, writeReport, reportFigures, primaryFacesComparison, STUDY_REPORTED } from "../../lib/report";
import { coverThumbnail } from "../../lib/report/covers";
import { fixtureResults } from "./fixture";

describe("report HTML", () => {
  let html: string;
  let dir: string;
  const logs: string[] = [];

  beforeAll(async () => {
    const fx = await fixtureResults({ missing: [3] });
    dir = fx.dir;
    html = await reportHtml(fx.results, { log: (l) => logs.push(l), faces: (ex) => (ex.masterId === "1000" ? [{ x: 90, y: 70, width: 120, height: 120, label: "F 31" }] : null) });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("leads with the faces answer and its interval", () => {
    const answerAt = html.indexOf('id="answer"');
    expect(answerAt).toBeGreaterThan(0);
    expect(answerAt).toBeLessThan(html.indexOf('id="protocol"'));
    expect(html).toContain("No: adding face attributes to the image features changes micro-F1 by +0.005");
    expect(html).toMatch(/img\+face<\/code> minus <code>img<\/code> on the 1,874 covers with faces: \+0\.005 \(95 % CI \[−0\.012, \+0\.022\]/);
  });

  test("inlines plotly exactly once and draws every figure", async () => {
    expect(html.split("plotly.js v").length - 1).toBe(1);
    const { results } = await fixtureResults();
    const figs = reportFigures(results);
    expect(figs.map((f) => f.name)).toEqual(
      expect.arrayContaining(["forest", "faces-microf1", "genre-precision", "genre-recall", "pr-all", "learning", "thesis"]),
    );
    for (const f of figs) expect(html).toContain(`id="fig-${f.name}"`);
    expect(html.split('class="cg-figure"').length - 1).toBe(figs.length);
  });

  test("puts baselines beside the numbers and the study's reported numbers", () => {
    expect(html).toContain("baseline: predict every genre");
    expect(html).toContain("baseline: genre prior");
    // every metrics table starts with both baseline rows
    const tables = html.split("<table>").slice(1).filter((t) => t.includes("Δ micro-F1 vs predict-all"));
    expect(tables.length).toBeGreaterThanOrEqual(3);
    for (const t of tables) expect(t.indexOf('class="baseline"')).toBeLessThan(t.indexOf("<tr>", t.indexOf("<tbody>")));
    expect(html).toContain(`micro precision <b>${STUDY_REPORTED.imageOnly.microPrecision.toFixed(2)}</b>`);
    expect(html).toContain("<b>0.75</b> / <b>0.06</b>");
    expect(html).toContain("study (reported): face + colour");
  });

  test("the data-size curve, when the study ran it, is a figure with the gain per doubling in words", async () => {
    const { results, dir: d } = await fixtureResults();
    try {
      expect(reportFigures(results).map((f) => f.name)).not.toContain("data-size");
      const est = (mean: number) => ({ mean, ci: [mean - 0.01, mean + 0.01] as [number, number] });
      results.dataSizeCurve = {
        inputSet: "img",
        population: "all",
        points: [0.25, 0.5, 1].map((fraction, i) => ({ fraction, trainRows: Math.round(3000 * fraction), microF1: est(0.4 + 0.01 * i), macroF1: est(0.35), rocAucMacro: est(0.68 + 0.012 * i) })),
        perDoubling: { microF1: 0.01, rocAucMacro: 0.012 },
      };
      const fig = reportFigures(results).find((f) => f.name === "data-size")!;
      expect(fig.caption).toMatch(/25 %, 50 % of itself.*\+0\.010 micro-F1 and \+0\.012 macro ROC-AUC per doubling/);
      expect((fig.figure.data[0] as { x: number[] }).x).toEqual([750, 1500, 3000]);
      const page = await reportHtml(results);
      expect(page).toContain("Would more covers help?");
      expect(page).toContain('id="fig-data-size"');
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  test("escapes genre names and writes the protocol and limits", () => {
    expect(html).toContain("Folk, World, &amp; Country");
    expect(html).not.toMatch(/Folk, World, & Country/);
    expect(html).toContain("5-fold cross-validation repeated 2 time(s) with seed 42");
    expect(html).toContain("Race is a sensitive attribute");
    expect(html).toContain("model estimates");
    expect(html).toMatch(/carry 5 of the study's 7 major genres \(missing: Jazz, Funk \/ Soul\)/);
  });

  test("embeds covers, draws faces, and names a missing cover instead of a broken image", () => {
    const imgs = html.match(/<img src="data:image\/jpeg;base64,/g) ?? [];
    expect(imgs).toHaveLength(9);
    expect(html).toContain("#1000 · 1 face(s)");
    expect(html).toMatch(/class="missing">cover not found: .*cover3\.jpg/);
    expect(logs.some((l) => l.includes("cover3.jpg"))).toBe(true);
    expect(html).toContain('class="tag hit"');
    expect(html).toContain('class="tag missed"');
  });

  test("writeReport writes index.html atomically and refuses an unknown version", async () => {
    const { results, dir: d2 } = await fixtureResults();
    try {
      const file = await writeReport(results, path.join(d2, "out"));
      expect(file).toBe(path.join(d2, "out", "index.html"));
      expect(fs.readdirSync(path.join(d2, "out"))).toEqual(["index.html"]);
      await expect(reportHtml({ ...results, version: 2 as 1 })).rejects.toThrow(/unsupported version 2/);
    } finally {
      fs.rmSync(d2, { recursive: true, force: true });
    }
  });

  test("primaryFacesComparison picks img+face vs img on the faces population", async () => {
    const { results, dir: d3 } = await fixtureResults();
    fs.rmSync(d3, { recursive: true, force: true });
    expect(primaryFacesComparison(results)).toMatchObject({ a: "img+face", b: "img", population: "faces" });
    expect(primaryFacesComparison({ ...results, comparisons: [] })).toBeNull();
  });
});

test("a cover thumbnail of a corrupt file explains itself", async () => {
  const f = path.join(require("node:os").tmpdir(), `cg-bad-${process.pid}.jpg`);
  fs.writeFileSync(f, "not a jpeg");
  try {
    const t = await coverThumbnail(f);
    expect(t.ok).toBe(false);
    if (!t.ok) expect(t.error).toMatch(/cannot read cover .*cg-bad/);
  } finally {
    fs.rmSync(f, { force: true });
  }
});

test("metrics that are undefined on the rows (NaN, stored as null in JSON) print as – instead of breaking the page", async () => {
  const { results, dir } = await fixtureResults();
  try {
    const r = JSON.parse(JSON.stringify(results, (_k, v) => v)) as typeof results;
    (r.inputSets.img.rocAucMacro as { mean: number | null }).mean = null;
    (r.inputSets.img.rocAucMacro as { ci: unknown }).ci = [null, null];
    (r.comparisons[0] as { p: number | null }).p = null;
    (r.allCovers.img.microF1 as { mean: number | null }).mean = null;
    const html = await reportHtml(r);
    expect(html).toContain("– <span class=\"ci\">[–, –]</span>");
    // no "Δ vs predict-all" computed from a missing value (null − x would read as −x)
    expect(html.slice(html.indexOf("<body>"))).not.toMatch(/NaN/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the answer leads with its first sentence; the comparison list folds away", async () => {
  const { splitFirstSentence } = await import("../../lib/report");
  const text =
    "No detectable help from faces: none of 8 paired comparisons is significant after Holm correction; effects are within ±0.270 (95 % CIs). img+face vs img on covers with faces: micro-F1 changes by −0.008 (95 % CI −0.087 to +0.071, Holm-adjusted p = 1.000).";
  const s = splitFirstSentence(text);
  expect(s.first).toBe("No detectable help from faces: none of 8 paired comparisons is significant after Holm correction; effects are within ±0.270 (95 % CIs).");
  expect(s.rest).toMatch(/^img\+face vs img/);
  expect(splitFirstSentence("One sentence only.")).toEqual({ first: "One sentence only.", rest: "" });
  const { results, dir } = await fixtureResults();
  try {
    const html = await reportHtml({ ...results, answer: { faces: text, colour: "Colour adds nothing." } });
    expect(html).toContain("<summary>every comparison in words</summary><p>img+face vs img on covers with faces");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
