/**
 * The report in a real browser (Debian's chromium via playwright-core): loads from file:// with no
 * console errors, every plotly figure draws its SVG, every image decodes. Skips, saying why, only
 * when no Chromium is installed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import sharp from "sharp";
import { writeReport, reportFigures } from "../../lib/report";
import { checkPage, exportFiguresPng, findChromium } from "../../lib/report/browser";
import { fixtureResults, withCollections } from "./fixture";
import { CHROMIUM_PART, needs } from "../helpers/parts";

const maybe = needs({ [CHROMIUM_PART]: Boolean(findChromium()) }).test;

maybe("the generated report renders in headless Chromium: figures drawn, images loaded, no console errors", async () => {
  const { results, dir } = await fixtureResults();
  try {
    const file = await writeReport(results, path.join(dir, "report"), {
      faces: (ex) => (ex.masterId === "1001" ? [{ x: 90, y: 70, width: 120, height: 120, label: "M 40" }] : null),
    });
    const check = await checkPage(file);
    expect(check.consoleErrors).toEqual([]);
    expect(check.figures.length).toBe(reportFigures(results).length);
    expect(check.figures.filter((f) => !f.rendered)).toEqual([]);
    expect(check.images.length).toBe(results.examples.length);
    expect(check.images.filter((i) => !i.loaded)).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

maybe("with two collections, the per-collection, transfer and extra-data figures draw too, and export to PNG", async () => {
  const { results, dir } = await fixtureResults();
  try {
    withCollections(results);
    const file = await writeReport(results, path.join(dir, "report"));
    const check = await checkPage(file);
    expect(check.consoleErrors).toEqual([]);
    expect(check.figures.map((f) => f.id)).toEqual(expect.arrayContaining(["fig-collections", "fig-transfer", "fig-extra-data"]));
    expect(check.figures.filter((f) => !f.rendered)).toEqual([]);
    const figs = reportFigures(results).filter((f) => ["collections", "transfer", "extra-data"].includes(f.name));
    const files = await exportFiguresPng(figs.map((f) => ({ figure: f.figure, file: path.join(dir, `${f.name}.png`) })), { width: 900, height: 460 });
    expect(files.map((f) => path.basename(f))).toEqual(["collections.png", "transfer.png", "extra-data.png"]);
    for (const f of files) expect((await sharp(f).stats()).channels[0].stdev).toBeGreaterThan(5);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

maybe("a page whose figure cannot draw is caught (the check can fail)", async () => {
  const dir = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "cg-bad-page-"));
  try {
    const page = path.join(dir, "bad.html");
    // no plotly on the page, and an image that is not an image
    fs.writeFileSync(page, `<!DOCTYPE html><html><body><div class="cg-figure" id="f"></div><img alt="x" src="missing.png"><script>throw new Error("boom")</script></body></html>`);
    const check = await checkPage(page, { timeoutMs: 3000 });
    expect(check.figures).toEqual([{ id: "f", rendered: false }]);
    expect(check.images[0].loaded).toBe(false);
    expect(check.consoleErrors.join("\n")).toMatch(/boom/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

maybe("figures export to PNG with Plotly.toImage", async () => {
  const { results, dir } = await fixtureResults();
  try {
    const figs = reportFigures(results).filter((f) => f.name === "forest" || f.name === "faces-microf1");
    const files = await exportFiguresPng(figs.map((f) => ({ figure: f.figure, file: path.join(dir, `${f.name}.png`) })), { width: 800, height: 400 });
    expect(files).toHaveLength(2);
    for (const f of files) {
      const meta = await sharp(f).metadata();
      expect(meta.format).toBe("png");
      expect([meta.width, meta.height]).toEqual([800, 400]);
      // not a blank canvas: plotly drew something
      const stats = await sharp(f).stats();
      expect(stats.channels[0].stdev).toBeGreaterThan(5);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
