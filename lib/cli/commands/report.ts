/**
 * `covergenre report`: (re)build the HTML report from a results.json, check it in headless
 * Chromium, and export figures as PNG for the README.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "../framework";
import { stringOpt } from "../framework";
import { reportFigures, writeReport } from "../../report";
import { checkPage, exportFiguresPng } from "../../report/browser";
import type { StudyResults } from "../../train/results";
import { UserError } from "../../util/errors";
import { faceBoxesFromTable } from "../../pipeline";

/** The figures `--png` exports by default (the ones the README shows, and more). */
const PNG_FIGURES = "forest,faces-microf1,all-microf1,genre-recall,data-size,collections,transfer,extra-data";

export const reportCommand: Command = {
  name: "report",
  summary: "write index.html from results.json; optionally check it in headless Chromium and export PNG figures",
  usage: "covergenre report [--results reports/results.json] [--out reports/] [--png] [--check] [--json]",
  options: {
    results: { type: "string", description: "results.json written by the study", defaultText: "reports/results.json" },
    out: { type: "string", description: "folder for index.html (and figures/*.png)", defaultText: "the results file's folder" },
    png: { type: "boolean", description: "also export the report's figures as PNG to <out>/figures/ (needs Chromium)" },
    figures: { type: "string", description: "with --png: comma-separated figure names", defaultText: PNG_FIGURES },
    check: { type: "boolean", description: "load the page in headless Chromium: figures drawn, images loaded, no console errors" },
  },
  async run(ctx) {
    const resultsPath = path.resolve(stringOpt(ctx.values, "results") ?? path.join("reports", "results.json"));
    if (!fs.existsSync(resultsPath)) throw new UserError(`results file ${resultsPath} not found: run covergenre pipeline (or covergenre study) first`);
    let results: StudyResults;
    try {
      results = JSON.parse(fs.readFileSync(resultsPath, "utf8")) as StudyResults;
    } catch (err) {
      throw new UserError(`results file ${resultsPath} is not valid JSON: ${(err as Error).message}`);
    }
    const outDir = path.resolve(stringOpt(ctx.values, "out") ?? path.dirname(resultsPath));
    // Faces drawn on the cover grid when the study's feature table is still there.
    const table = results.dataset?.table;
    const faces = table && fs.existsSync(table) ? await faceBoxesFromTable(table, ctx.log) : undefined;
    const file = await writeReport(results, outDir, { log: ctx.log, faces });
    ctx.log(`report: ${file}`);
    const out: Record<string, unknown> = { report: file };
    if (ctx.values.png) {
      const wanted = (stringOpt(ctx.values, "figures") ?? PNG_FIGURES).split(",").map((s) => s.trim());
      const figs = reportFigures(results).filter((f) => wanted.includes(f.name));
      const t = Date.now();
      out.png = await exportFiguresPng(figs.map((f) => ({ figure: f.figure, file: path.join(outDir, "figures", `${f.name}.png`) })), { width: 1000 });
      ctx.log(`report: ${figs.length} PNG figure(s) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    let failed = false;
    if (ctx.values.check) {
      const check = await checkPage(file);
      out.check = check;
      const bad = [...check.figures.filter((f) => !f.rendered).map((f) => `figure ${f.id} not drawn`), ...check.images.filter((i) => !i.loaded).map((i) => `image "${i.alt}" not loaded`), ...check.consoleErrors];
      failed = bad.length > 0;
      ctx.log(failed ? `check FAILED:\n  ${bad.join("\n  ")}` : `check ok: ${check.figures.length} figures drawn, ${check.images.length} images loaded, no console errors`);
    }
    if (ctx.json) ctx.printJson(out);
    else ctx.print(file);
    return failed ? 1 : 0;
  },
};
