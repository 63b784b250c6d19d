/**
 * The plotly JSON part of a figure's bundle draws in a real browser the way JupyterLab's and VS
 * Code's plotly renderers draw it (Plotly.newPlot(div, data, layout, config) from the JSON alone),
 * beside the HTML part that Notebook 6 and nbconvert use. Skips, saying why, only without Chromium.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { figureBundle, plotlyScript, PLOTLY_MIME, scriptJson } from "../../lib/plot";
import { checkPage, findChromium } from "../../lib/report/browser";
import { reportFigures } from "../../lib/report";
import { fixtureResults } from "../report/fixture";
import { CHROMIUM_PART, needs } from "../helpers/parts";

const maybe = needs({ [CHROMIUM_PART]: Boolean(findChromium()) }).test;

maybe("every report figure's bundle draws from its plotly JSON alone (as JupyterLab / VS Code do) and from its HTML part", async () => {
  const { results, dir } = await fixtureResults();
  try {
    const figs = reportFigures(results);
    const bundles = figs.map((f, i) => figureBundle(f.figure, { id: `html-${i}` }));
    // The JSON part: a renderer gets only the object; draw it as such, in its own div.
    const fromJson = bundles
      .map((b, i) => `<div class="cg-figure" id="json-${i}"></div><script>(function(){var f=${scriptJson(b[PLOTLY_MIME])};Plotly.newPlot(document.getElementById("json-${i}"),f.data,f.layout,f.config);})();</script>`)
      .join("\n");
    const fromHtml = bundles.map((b) => b["text/html"] as string).join("\n");
    const page = path.join(dir, "bundles.html");
    fs.writeFileSync(page, `<!DOCTYPE html><html><head><meta charset="utf-8">${plotlyScript()}</head><body>${fromJson}\n${fromHtml}</body></html>`);
    const check = await checkPage(page);
    expect(check.consoleErrors).toEqual([]);
    expect(check.figures).toHaveLength(2 * figs.length);
    expect(check.figures.filter((f) => !f.rendered)).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

maybe("a JSON part that is not a figure is caught (the check can fail)", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cg-bad-bundle-"));
  try {
    const page = path.join(dir, "bad.html");
    fs.writeFileSync(page, `<!DOCTYPE html><html><head>${plotlyScript()}</head><body><div class="cg-figure" id="x"></div></body></html>`);
    const check = await checkPage(page, { timeoutMs: 3000 });
    expect(check.figures).toEqual([{ id: "x", rendered: false }]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
