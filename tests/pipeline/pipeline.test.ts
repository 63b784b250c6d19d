/**
 * The main job end to end on a tiny synthetic crawl (quick mode, one worker): features → study →
 * report, then the cache: a second run recomputes nothing, a changed setting recomputes only the
 * steps downstream of it, and no covers anywhere is the UserError that says how to get some.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { faceBoxesFromTable, runPipeline, readManifest, summaryLines, type PipelineConfig } from "../../lib/pipeline";
import type { StudyResults } from "../../lib/train/results";
import { UserError } from "../../lib/util/errors";
import { DEFAULT_HEAD } from "../../lib/train/heads";
import { checkPage, findChromium } from "../../lib/report/browser";
import { makeSyntheticCrawl } from "./fixture";
import { CHROMIUM_PART, needs } from "../helpers/parts";

const GENRES = ["Electronic", "Rock", "Pop"];

describe("covergenre pipeline on a synthetic crawl", () => {
  let tmp: string;
  let base: PipelineConfig;
  const logs: string[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cg-pipeline-"));
    await makeSyntheticCrawl(path.join(tmp, "covers"), 6, GENRES);
    base = {
      covers: path.join(tmp, "covers"),
      outDir: path.join(tmp, "reports"),
      tablePath: path.join(tmp, "features", "covers.csv"),
      checkpointsDir: path.join(tmp, "checkpoints"),
      projectRoot: tmp,
      quick: true,
      folds: 3,
      features: { workers: 1, maps: [] },
      // a few optimiser steps: the test checks the wiring, not the learning
      studyConfig: { minPositives: 3, examples: 6, head: { ...DEFAULT_HEAD, epochs: 3, minSteps: 10 } },
      log: (l) => logs.push(l),
    };
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("first run computes every step and writes the report, results and manifest", async () => {
    const o = await runPipeline(base);
    expect(o.steps.map((s) => [s.name, s.cached])).toEqual([
      ["features", false],
      ["study", false],
      ["report", false],
    ]);
    expect(o.features?.rows).toBe(19);
    const results = JSON.parse(fs.readFileSync(path.join(tmp, "reports", "results.json"), "utf8")) as StudyResults;
    expect(results.version).toBe(1);
    expect(results.dataset.rows).toBe(19);
    expect(results.dataset.genres).toEqual(expect.arrayContaining(GENRES));
    expect(results.protocol).toMatchObject({ folds: 3, repeats: 1, quick: true });
    expect(Object.keys(results.inputSets).length).toBeGreaterThan(0);
    const html = fs.readFileSync(o.reportPath, "utf8");
    expect(html).toContain(results.answer.faces.slice(0, 40).replace(/&/g, "&amp;"));
    expect(html.split("plotly.js v").length - 1).toBe(1);
    expect(readManifest(base.outDir!).steps.study?.outputs).toContain(path.join(tmp, "reports", "results.json"));
    // progress names the step and the ETA
    expect(logs.some((l) => /\[pipeline\] step 2\/3 study: .*ETA/.test(l))).toBe(true);
    const summary = summaryLines(o).join("\n");
    expect(summary).toMatch(/^Do faces help\? /);
    expect(summary).toContain(o.reportPath);
  }, 400_000);

  needs({ [CHROMIUM_PART]: Boolean(findChromium()) }).test("the report of a real (tiny) study renders in headless Chromium", async () => {
    const check = await checkPage(path.join(tmp, "reports", "index.html"));
    expect(check.consoleErrors).toEqual([]);
    expect(check.figures.length).toBeGreaterThan(3);
    expect(check.figures.filter((f) => !f.rendered)).toEqual([]);
    expect(check.images.length).toBeGreaterThan(0);
    expect(check.images.filter((i) => !i.loaded)).toEqual([]);
  });

  test("face boxes found by the features step are available to the report's cover grid", async () => {
    const table = base.tablePath!;
    const lines = fs.readFileSync(table.replace(/\.csv$/, ".faces.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const withFace = lines.find((l) => l.faces.length > 0);
    const without = lines.find((l) => l.faces.length === 0);
    expect(withFace).toBeDefined();
    const boxes = await faceBoxesFromTable(table);
    const got = boxes({ path: path.join(tmp, "covers", withFace.path) });
    expect(got).not.toBeNull();
    expect(got![0].width).toBeGreaterThan(10);
    expect(boxes({ path: path.join(tmp, "covers", without.path) })).toBeNull();
  });

  test("a second run with nothing changed recomputes nothing", async () => {
    const before = fs.statSync(path.join(tmp, "reports", "index.html")).mtimeMs;
    const o = await runPipeline(base);
    expect(o.steps.every((s) => s.cached)).toBe(true);
    expect(o.features).toBeNull();
    expect(fs.statSync(path.join(tmp, "reports", "index.html")).mtimeMs).toBe(before);
  });

  test("a changed study setting reruns the study and the report, not the features", async () => {
    const o = await runPipeline({ ...base, folds: 2 });
    expect(o.steps.map((s) => [s.name, s.cached])).toEqual([
      ["features", true],
      ["study", false],
      ["report", false],
    ]);
    expect(o.results.protocol.folds).toBe(2);
  }, 300_000);

  test("a new cover reruns the features (only the new cover is computed) and everything after", async () => {
    const src = fs.readdirSync(path.join(tmp, "covers", "Rock"))[0];
    fs.copyFileSync(path.join(tmp, "covers", "Rock", src), path.join(tmp, "covers", "Pop", "9999.jpeg"));
    const o = await runPipeline({ ...base, folds: 2 });
    expect(o.steps.map((s) => s.cached)).toEqual([false, false, false]);
    expect(o.features).toMatchObject({ rows: 20, computed: 0 }); // same bytes as a cached cover: nothing to compute
  }, 300_000);
});

test("with no covers anywhere the pipeline says how to get them", async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), "cg-empty-"));
  try {
    const run = runPipeline({ projectRoot: empty, data: path.join(empty, "nodata"), env: {}, log: () => undefined });
    await expect(run).rejects.toBeInstanceOf(UserError);
    await expect(runPipeline({ projectRoot: empty, data: path.join(empty, "nodata"), env: {}, log: () => undefined })).rejects.toThrow(/crawl Discogs: DISCOGS_TOKEN=/);
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});
