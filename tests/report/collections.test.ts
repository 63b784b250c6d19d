/**
 * The report's parts about several collections (issue 11): the collections table, per-collection
 * scores, transfer, extra data and their figures, rendered from synthetic results added to the
 * report fixture; and results without these keys render without those parts.
 */
import * as fs from "node:fs";
import { collectionFigures, collectionScoresFigure, extraDataFigure, reportFigures, reportHtml, transferFigure } from "../../lib/report";
import { percent, deltaHtml } from "../../lib/report/format";
import type { StudyResults } from "../../lib/train/results";
import { COVERS, POPULAR, fixtureResults, withCollections } from "./fixture";

/** The HTML between the element with id `from` and the next <h2> (one section of the page). */
function section(html: string, id: string): string {
  const at = html.indexOf(`id="${id}"`);
  if (at < 0) return "";
  const end = html.indexOf("<h2", at);
  return html.slice(at, end < 0 ? undefined : end);
}

describe("report with two collections", () => {
  let html: string;
  let results: StudyResults;
  let dir: string;

  beforeAll(async () => {
    const fx = await fixtureResults();
    dir = fx.dir;
    results = withCollections(fx.results);
    html = await reportHtml(results);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("the protocol names both collections, says how folds are stratified, and tables them side by side", () => {
    const protocol = section(html, "protocol");
    expect(protocol).toContain("from 2 collections (<code>/data/discogs-covers</code>, <code>/data/discogs-popular-covers</code>)");
    expect(protocol).toContain("stratified by label set and collection");
    const table = section(html, "collections-data");
    expect(table).toContain(`<th>${COVERS}</th><th>${POPULAR}</th>`);
    expect(table).toMatch(/<td>usable covers<\/td><td>2,200<\/td><td>1,560<\/td>/);
    expect(table).toMatch(/<td>genres per cover \(mean\)<\/td><td>1\.02<\/td><td>1\.48<\/td>/);
    expect(table).toMatch(/<td>covers with two or more genres<\/td><td>2\.1 %<\/td><td>37\.7 %<\/td>/);
    expect(table).toMatch(/<td>median image size<\/td><td>300 × 300 px<\/td><td>150 × 150 px<\/td>/);
    // a genre only one collection has: counted there, a dash in the other
    expect(table).toMatch(/<td>covers tagged Jazz<\/td><td>–<\/td><td>212 <span class="base">14 %<\/span><\/td>/);
    expect(table).toContain("covers tagged Folk, World, &amp; Country");
  });

  test("per collection: each input set beside the collection's own predict-all, with intervals and the difference", () => {
    const s = section(html, "collections");
    expect(s).toContain('id="collections">Per collection</h2>');
    expect(s).toContain(`<th>${POPULAR}: micro-F1</th>`);
    expect(s).toContain(`${POPULAR}: macro ROC-AUC`);
    expect(s).toContain('0.512 <span class="ci">[0.490, 0.534]</span>');
    expect(s).toContain('0.688 <span class="ci">[0.666, 0.710]</span>');
    // the baseline row comes first, with each collection's own predict-all
    const body = s.slice(s.indexOf("<tbody>"));
    expect(body.indexOf('class="baseline"')).toBeLessThan(body.indexOf("<td>img</td>"));
    expect(body).toMatch(/<tr class="baseline"><td>baseline: predict every genre<\/td><td>0\.352 .*?<\/td><td>0\.500 .*?<\/td><td><\/td><td>0\.463 /);
    // img on the popular covers: 0.512 − 0.463
    expect(body).toMatch(/<td>img<\/td>.*<td>\+0\.089<\/td>.*<td>\+0\.049<\/td>/);
    expect(s).toContain(`${COVERS} 2,200, ${POPULAR} 1,560`);
    expect(s).toContain('id="fig-collections"');
  });

  test("transfer: both directions, transfer vs within vs predict-all, the paired delta with CI and p, and the words", () => {
    const s = section(html, "transfer");
    expect(s).toContain("Does it carry over? (transfer)");
    expect(s).toContain("Genres scored (those with enough covers in every collection): Electronic, Hip Hop, Pop, Rock.");
    expect(s).toContain(`Trained on ${POPULAR}, tested on ${COVERS} (2,200 covers)`);
    expect(s).toContain(`Trained on ${COVERS}, tested on ${POPULAR} (1,560 covers)`);
    expect(s).toContain(`all 1,560 covers of ${POPULAR}`);
    expect(s).toContain('0.380 <span class="ci">[0.360, 0.400]</span>');
    expect(s).toContain('micro-F1 −0.061 <span class="ci">[−0.083, −0.039]</span> (p &lt; 0.001), macro ROC-AUC −0.072 <span class="ci">[−0.090, −0.054]</span> (p &lt; 0.001)');
    expect(s).toContain('micro-F1 −0.042 <span class="ci">[−0.070, −0.014]</span> (p = 0.012)');
    expect(s).toContain("most of what it learns does not carry over.");
    expect(s).toContain('id="fig-transfer"');
  });

  test("extra data: own vs + the other collection per target, with training sizes, the delta and the words", () => {
    const s = section(html, "extra-data");
    expect(s).toContain("Real extra data");
    expect(s).toContain(`${COVERS}: own covers vs + ${POPULAR}`);
    expect(s).toMatch(/<td>own training folds of discogs-covers<\/td><td>1,760<\/td><td>0\.441 /);
    expect(s).toMatch(/<td>\+ every cover of discogs-popular-covers<\/td><td>3,320<\/td><td>0\.452 /);
    expect(s).toContain('micro-F1 +0.011 <span class="ci">[−0.004, +0.026]</span> (p = 0.143), macro ROC-AUC +0.009 <span class="ci">[+0.003, +0.015]</span> (p = 0.021)');
    expect(s).toContain("genres scored: Electronic, Hip Hop, Pop, Rock, Jazz, Funk / Soul");
    expect(s).toContain("no detectable effect.");
    expect(s).toContain('id="fig-extra-data"');
  });

  test("the sections are linked from the nav, the grid names each cover's collection, and the limits name how the collections differ", () => {
    const nav = html.slice(html.indexOf("<nav>"), html.indexOf("</nav>"));
    expect(nav).toContain('<a href="#collections">per collection</a><a href="#transfer">transfer</a><a href="#extra-data">extra data</a>');
    expect(html).toContain(`<div class="id">#1000 · ${COVERS}</div>`);
    const limits = section(html, "limits");
    expect(limits).toContain(`image size (median ${COVERS} 300×300 px, ${POPULAR} 150×150 px)`);
    expect(limits).toContain(`${COVERS} has no Jazz, Funk / Soul`);
    expect(limits).toContain(`${COVERS} 2.1 %, ${POPULAR} 37.7 %`);
  });

  test("the new figures are named, on the page once each, and carry the numbers with their intervals", () => {
    const names = reportFigures(results).map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(["collections", "transfer", "extra-data", "forest", "all-microf1"]));
    expect(collectionFigures(results).map((f) => f.name)).toEqual(["collections", "transfer", "extra-data"]);
    for (const n of ["collections", "transfer", "extra-data"]) expect(html.split(`id="fig-${n}"`).length - 1).toBe(1);
    expect(html.split('class="cg-figure"').length - 1).toBe(names.length);

    type Bar = { name: string; x: string[]; y: (number | null)[]; xaxis: string; showlegend: boolean; error_y: { array: (number | null)[]; arrayminus: (number | null)[] } };
    const bars = collectionScoresFigure(results.collections!).data as Bar[];
    // 3 input sets + predict-all, each with a micro-F1 (x) and an AUC (x2) trace
    expect(bars).toHaveLength(8);
    const img = bars.filter((b) => b.name === "img");
    expect(img.map((b) => b.xaxis)).toEqual(["x", "x2"]);
    expect(img.map((b) => b.showlegend)).toEqual([true, false]);
    expect(img[0].x).toEqual([`${COVERS}<br>(2,200 covers)`, `${POPULAR}<br>(1,560 covers)`]);
    expect(img[0].y).toEqual([0.441, 0.512]);
    expect(img[0].error_y.array.map((v) => +v!.toFixed(3))).toEqual([0.02, 0.022]);
    expect(img[1].y).toEqual([0.712, 0.688]);
    expect(bars.find((b) => b.name.startsWith("baseline"))!.y).toEqual([0.352, 0.463]);

    const t = transferFigure(results.transfer!).data as Bar[];
    expect(t[0].x).toEqual([`${POPULAR} →<br>${COVERS}`, `${COVERS} →<br>${POPULAR}`]);
    expect(t.map((b) => b.y[0])).toEqual([0.38, 0.64, 0.441, 0.712, 0.352, 0.5]);
    const x = extraDataFigure(results.extraData!).data as Bar[];
    expect(x.map((b) => b.y)).toEqual([[0.441, 0.512], [0.712, 0.688], [0.452, 0.52], [0.721, 0.695]]);
  });
});

describe("results without collections", () => {
  test("old results (no collection keys) render without the collection parts", async () => {
    const { results, dir } = await fixtureResults();
    try {
      expect(results.collections).toBeUndefined();
      expect(collectionFigures(results)).toEqual([]);
      const html = await reportHtml(results);
      for (const id of ["collections", "collections-data", "transfer", "extra-data", "fig-collections", "fig-transfer", "fig-extra-data"]) expect(html).not.toContain(`id="${id}"`);
      expect(html).not.toContain("stratified by label set and collection");
      expect(html).not.toContain('href="#transfer"');
      expect(html).toContain("<div class=\"id\">#1000</div>");
      expect(html).toContain("from <code>/tmp/covergenre/covers</code>");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("one collection (empty per-collection scores, no transfer, no extra data) shows its table but no comparison sections", async () => {
    const { results, dir } = await fixtureResults();
    try {
      withCollections(results);
      results.dataset.collections = results.dataset.collections!.slice(0, 1);
      results.collections = {};
      results.transfer = null;
      results.extraData = [];
      expect(collectionFigures(results)).toEqual([]);
      const html = await reportHtml(results);
      expect(html).toContain('id="collections-data"');
      expect(html).not.toContain("stratified by label set and collection");
      for (const id of ["collections", "transfer", "extra-data"]) expect(html).not.toContain(`<h2 id="${id}"`);
      expect(html).not.toContain("The collections differ");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("format: a paired difference shows its signs, a share its percent", () => {
  expect(deltaHtml(-0.0614, [-0.083, 0.0012])).toBe('−0.061 <span class="ci">[−0.083, +0.001]</span>');
  expect(deltaHtml(null, null)).toBe('– <span class="ci"></span>');
  expect(percent(0.377)).toBe("37.7 %");
  expect(percent(0.1404, 0)).toBe("14 %");
  expect(percent(Number.NaN)).toBe("–");
});
