/**
 * `npm run bench:features`: speed of the per-cover feature row on real covers, against a naive
 * baseline measured in the same run.
 *
 * - study row: faces + colour + histograms + InceptionV3 (pooled + f16 mixed7 map), worker threads;
 * - default row: faces + colour + histograms + the default backbones (MobileNet v1 when
 *   ../shared/models has it);
 * - both rows on each runtime side by side (tfjs-wasm, onnxruntime-node: lib/onnx/; the switch moves
 *   the image backbones and the five face models together), and the onnx / tfjs ratio;
 * - cached re-run of the default row (nothing changed: the ≥ 10x goal);
 * - naive baseline: one thread, Human with its default configuration (face, body, hand, gesture
 *   models as shipped; maxDetected 1), colour and InceptionV3 one cover at a time.
 *
 * Env: BENCH_N (covers, default 300), BENCH_BASELINE_N (default 60: the baseline is slow, its rate
 * is measured on fewer covers), BENCH_WORKERS (default 2), BENCH_RUNTIMES (default "tfjs,onnx").
 * Uses ../shared/data/discogs-covers and, when present, ../shared/data/discogs-popular-covers (half
 * of the covers from each).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildFeatureTable, type BuildSummary } from "../lib/features/build";
import { defaultFeatureConfig, type FeatureConfig } from "../lib/features/config";
import { listCovers } from "../lib/features/covers";
import { resolveDataRoot } from "../lib/paths";
import { initTf, tf, wasmDistDir } from "../lib/tf";
import { packageDir } from "../lib/util/packages";
import { colourFeatures } from "../lib/vision/colour";
import { loadEmbedder } from "../lib/vision/embed";
import { humanModelsDir } from "../lib/vision/models";
import { decodeImage } from "../lib/vision/image";
import { pathToFileURL } from "node:url";

const N = Number(process.env.BENCH_N ?? 300);
const BASELINE_N = Number(process.env.BENCH_BASELINE_N ?? 60);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const RUNTIMES = (process.env.BENCH_RUNTIMES ?? "tfjs,onnx").split(",").map((r) => r.trim()).filter(Boolean);

function fmt(x: number, d = 2): string {
  return x.toFixed(d);
}

async function main(): Promise<void> {
  const dataDir = resolveDataRoot().dir;
  const collections = ["discogs-covers", "discogs-popular-covers"].map((c) => path.join(dataDir, c)).filter((d) => fs.existsSync(d));
  if (!collections.length) {
    console.log(`bench:features skipped: ${path.join(dataDir, "discogs-covers")} not found (needs the shared covers)`);
    return;
  }
  const status = await initTf();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-features-"));
  const subset = path.join(tmp, "covers");
  fs.mkdirSync(path.join(subset, "images"), { recursive: true });
  const rows: string[] = [];
  const ids = new Set<string>();
  let pickedCount = 0;
  for (const [k, dir] of collections.entries()) {
    // A spread of each set (every k-th cover), not the first N of one genre; the share of N left for each collection.
    // A release in both collections is benchmarked once (one row per release id in the table).
    const all = (await listCovers(dir)).covers.filter((c) => !ids.has(c.masterId));
    const want = Math.ceil((N - pickedCount) / (collections.length - k));
    const step = Math.max(1, Math.floor(all.length / want));
    const picked = all.filter((_, i) => i % step === 0).slice(0, want);
    for (const c of picked) {
      ids.add(c.masterId);
      const file = `images/${path.basename(dir)}-${path.basename(c.path)}`;
      fs.symlinkSync(c.absPath, path.join(subset, file));
      rows.push(`${c.masterId},"${c.genres.join("|")}",${file}`);
    }
    pickedCount += picked.length;
  }
  fs.writeFileSync(path.join(subset, "labels.csv"), "release_id,genres,file\n" + rows.join("\n") + "\n");
  const picked = { length: pickedCount };

  console.log(`bench:features — ${picked.length} real covers from ${collections.map((d) => path.basename(d)).join(" + ")}, ${os.cpus().length} CPUs, backend ${status.backend} (SIMD ${status.simd}), ${WORKERS} workers`);
  console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(1)).join(" ")} (other jobs share these cores)`);

  const run = async (label: string, extra: Partial<FeatureConfig>, cacheName: string): Promise<BuildSummary> => {
    const config: FeatureConfig = { ...defaultFeatureConfig(), workers: WORKERS, cacheDir: path.join(tmp, cacheName), ...extra };
    const s = await buildFeatureTable({ coversDir: subset, tablePath: path.join(tmp, `${cacheName}.csv`), config, progress: false, log: () => undefined });
    const perCover = Object.entries(s.stageMs).map(([k, ms]) => `${k} ${fmt(ms / Math.max(1, s.computed), 0)}`).join(", ");
    console.log(
      `${label.padEnd(34)} ${fmt(s.rows / (s.wallMs / 1000))} covers/s wall (${fmt(s.wallMs / 1000, 1)} s incl. model load)` +
        (s.computed ? `, ${fmt(s.computed / (s.computeMs / 1000))} covers/s compute; thread ms/cover: ${perCover}; tensors ${s.tensors.first}→${s.tensors.last}` : ""),
    );
    return s;
  };

  // The runtime switch is read from the environment by the cache keys and by every worker.
  const savedRuntime = process.env.COVERGENRE_RUNTIME;
  const rates: Record<string, Record<string, number>> = { study: {}, full: {} };
  let study!: BuildSummary;
  let full!: BuildSummary;
  let cached!: BuildSummary;
  for (const rt of RUNTIMES) {
    process.env.COVERGENRE_RUNTIME = rt;
    study = await run(`study row (faces+colour+hist+IV3), ${rt}`, { backbones: ["inception_v3"], maps: ["inception_v3"] }, `study-${rt}`);
    rates.study[rt] = study.computed / (study.computeMs / 1000);
  }
  for (const rt of RUNTIMES) {
    process.env.COVERGENRE_RUNTIME = rt;
    full = await run(`default row (${defaultFeatureConfig().backbones.join("+")}), ${rt}`, {}, `full-${rt}`);
    rates.full[rt] = full.computed / (full.computeMs / 1000);
  }
  cached = await run(`default row, cached re-run, ${RUNTIMES[RUNTIMES.length - 1]}`, {}, `full-${RUNTIMES[RUNTIMES.length - 1]}`);
  if (savedRuntime === undefined) delete process.env.COVERGENRE_RUNTIME;
  else process.env.COVERGENRE_RUNTIME = savedRuntime;

  // Naive baseline: what a first port would do.
  const Human = require(path.join(packageDir("@vladmandic/human"), "dist", "human.node-wasm.js")).Human as new (c: object) => {
    load(): Promise<void>;
    detect(x: unknown): Promise<{ face: unknown[] }>;
  };
  const human = new Human({
    backend: "wasm",
    modelBasePath: pathToFileURL(humanModelsDir()).href + "/",
    wasmPath: wasmDistDir() + path.sep,
    wasmPlatformFetch: false,
  });
  await human.load();
  const embedder = await loadEmbedder(["inception_v3"], { runtime: "tfjs" });
  const base = rows.slice(0, BASELINE_N).map((r) => path.join(subset, r.slice(r.lastIndexOf(",") + 1)));
  const t0 = performance.now();
  let faces = 0;
  for (const file of base) {
    const img = await decodeImage(file);
    colourFeatures(img);
    const x = tf.tidy(() => tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, 3], "int32").toFloat().expandDims(0));
    const r = await human.detect(x);
    x.dispose();
    faces += r.face.length;
    await embedder.embed([img], { maps: ["inception_v3"] });
  }
  const baseRate = base.length / ((performance.now() - t0) / 1000);
  console.log(`${"naive baseline (1 thread, Human defaults)".padEnd(34)} ${fmt(baseRate)} covers/s on ${base.length} covers (${faces} faces; maxDetected 1)`);
  const last = RUNTIMES[RUNTIMES.length - 1];
  const studyRate = rates.study[last];
  const fullRate = rates.full[last];
  console.log("");
  console.log(`study row (${last}) vs naive baseline: ${fmt(studyRate / baseRate, 1)}x (goal: ≥ 8 covers/s; measured ${fmt(studyRate)})`);
  console.log(`default row (${last}) vs naive baseline: ${fmt(fullRate / baseRate, 1)}x (${fmt(fullRate)} covers/s; issue 14 goal ≥ 15, must ≥ 10)`);
  if (rates.full.tfjs && rates.full.onnx) {
    console.log(
      `onnx vs tfjs (backbones + faces): study row ${fmt(rates.study.tfjs)} → ${fmt(rates.study.onnx)} covers/s (${fmt(rates.study.onnx / rates.study.tfjs, 2)}x), ` +
        `default row ${fmt(rates.full.tfjs)} → ${fmt(rates.full.onnx)} covers/s (${fmt(rates.full.onnx / rates.full.tfjs, 2)}x)`,
    );
  }
  console.log(`cached re-run vs first run: ${fmt(full.wallMs / cached.wallMs, 1)}x faster (${fmt(cached.wallMs / 1000, 1)} s vs ${fmt(full.wallMs / 1000, 1)} s; goal ≥ 10x)`);
  console.log(`load average at end: ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  embedder.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
