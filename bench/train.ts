/**
 * `npm run bench:train`: (1) the study's Flatten head, one epoch on cached mixed7 maps vs the same
 * epoch recomputing the backbone for every batch (the ratio is why features are cached), and (2) the
 * pooled-feature protocol's wall time (every input set of both populations, k folds × r repeats, no
 * variants), run twice on the same covers: every fold in this thread (the sequential path) and on
 * `--workers` fold worker threads (lib/train/pool.ts), side by side, with a check that both runs'
 * numbers are identical.
 *
 * (2) uses a subset of the real feature table when there is one (--table, default
 * datasets/features/covers.csv if present) — by default 1,000 covers spread over the table and one
 * repeat, so the pair of runs takes about 85 s (idle 2-core machine, with the data-size curve: 50.3 s → 33.8 s, 1.49x,
 * identical numbers); `--subset 0 --repeats 2` times the whole study's protocol. Without a table it uses a synthetic table of the shared set's shape (3,763 covers,
 * mobilenet_v1 1024-d + inception_v3 768-d, ~35 % with faces), which times the protocol honestly
 * (cost depends on shapes, not values) and says so.
 *
 * Options: --sample N (covers for part 1, default 64), --table <csv>, --subset N (default 1000; 0 =
 * all), --folds 5 --repeats 1, --workers 2, --skip-head, --skip-study.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { initTf, tf, tfStatus } from "../lib/tf";
import { loadBackbone } from "../lib/vision/backbone";
import { decodeImage, resizeImage } from "../lib/vision/image";
import { buildThesisModel, DEFAULT_THESIS_HEAD } from "../lib/train/thesisHead";
import { defaultStudyConfig, runStudy } from "../lib/train/study";
import type { StudyResults } from "../lib/train/results";
import { readFeatureSet, type FeatureSet, type CoverRow } from "../lib/features/store";
import { resolveDataRoot, datasetsDir } from "../lib/paths";
import { makeRng } from "../lib/util/rng";

const { values } = parseArgs({
  options: {
    sample: { type: "string" },
    table: { type: "string" },
    folds: { type: "string" },
    repeats: { type: "string" },
    subset: { type: "string" },
    workers: { type: "string" },
    "skip-study": { type: "boolean" },
    "skip-head": { type: "boolean" },
  },
});

async function sampleImages(n: number): Promise<tf.Tensor4D> {
  const dir = path.join(resolveDataRoot().dir, "discogs-covers", "images");
  const out: Uint8Array[] = [];
  if (fs.existsSync(dir)) {
    for (const f of fs.readdirSync(dir).sort().slice(0, n)) {
      const img = await resizeImage(await decodeImage(path.join(dir, f)), 150);
      out.push(img.data);
    }
  }
  const rng = makeRng(1);
  while (out.length < n) out.push(Uint8Array.from({ length: 150 * 150 * 3 }, () => Math.floor(rng() * 256)));
  const flat = new Uint8Array(n * 150 * 150 * 3);
  out.forEach((d, i) => flat.set(d, i * d.length));
  return tf.tensor4d(flat, [n, 150, 150, 3], "int32") as tf.Tensor4D;
}

async function headBench(n: number): Promise<void> {
  const backbone = await loadBackbone("inception_v3");
  const images = await sampleImages(n);
  const k = 5;
  const y = tf.tensor2d(Float32Array.from({ length: n * k }, (_, i) => (i % 3 === 0 ? 1 : 0)), [n, k]);
  const batch = DEFAULT_THESIS_HEAD.batchSize;
  // Cached: maps computed once (not timed: `covergenre features` does it once for all experiments).
  const maps: tf.Tensor2D[] = [];
  for (let s = 0; s < n; s += batch) {
    const { map, pooled } = backbone.embed(images.slice([s, 0, 0, 0], [Math.min(batch, n - s), 150, 150, 3]));
    maps.push(map.reshape([map.shape[0], -1]) as tf.Tensor2D);
    tf.dispose([map, pooled]);
  }
  const model = buildThesisModel(7 * 7 * 768, 0, k, DEFAULT_THESIS_HEAD);
  const epochCached = async () => {
    const t0 = performance.now();
    for (let b = 0; b < maps.length; b++) await model.trainOnBatch(maps[b], y.slice([b * batch, 0], [maps[b].shape[0], k]));
    return (performance.now() - t0) / 1000;
  };
  const epochRecompute = async () => {
    const t0 = performance.now();
    for (let s = 0, b = 0; s < n; s += batch, b++) {
      const m = Math.min(batch, n - s);
      const { map, pooled } = backbone.embed(images.slice([s, 0, 0, 0], [m, 150, 150, 3]));
      const flat = map.reshape([m, -1]);
      const yb = y.slice([s, 0], [m, k]);
      await model.trainOnBatch(flat, yb);
      tf.dispose([map, pooled, flat, yb]);
    }
    return (performance.now() - t0) / 1000;
  };
  await epochCached(); // warm-up (kernels, optimizer slots)
  const cached = [await epochCached(), await epochCached()];
  const recompute = [await epochRecompute()];
  const c = Math.min(...cached);
  const r = Math.min(...recompute);
  console.log(`\n## Flatten head (37,632 → 1,024 → ${k}), one epoch on ${n} covers, batch ${batch}`);
  console.log(`cached mixed7 maps        ${c.toFixed(2)} s/epoch  (${((c / n) * 1000).toFixed(1)} s per 1,000 covers)`);
  console.log(`backbone rerun per epoch  ${r.toFixed(2)} s/epoch  (${((r / n) * 1000).toFixed(1)} s per 1,000 covers)`);
  console.log(`ratio                     ${(r / c).toFixed(1)}x faster with cached features`);
  tf.dispose([...maps, images, y]);
  model.optimizer?.dispose();
  model.dispose();
  backbone.dispose();
}

function syntheticSharedShape(n = 3763): FeatureSet {
  const rng = makeRng(7);
  const probs = [0.45, 0.25, 0.15, 0.2, 0.35];
  const genres = ["Electronic", "Folk, World, & Country", "Hip Hop", "Pop", "Rock"];
  const rows: CoverRow[] = [];
  const emb = (dim: number) => ({ dim, data: Float32Array.from({ length: n * dim }, () => rng()) });
  for (let i = 0; i < n; i++) {
    let g = genres.filter((_, j) => rng() < probs[j]);
    if (!g.length) g = [genres[i % 5]];
    const face = rng() < 0.35;
    rows.push({
      collection: "synthetic", masterId: String(i), path: `images/${i}.jpg`, width: 300, height: 300, genres: g, isMultiLabeled: g.length > 1,
      dominant: [rng() * 255, rng() * 255, rng() * 255], meanColour: [rng() * 255, rng() * 255, rng() * 255],
      faces: face ? [{ box: [0, 0, 10, 10], score: 0.9, age: 30, gender: "male", genderScore: 0.9, race: "white", raceScore: 0.9, emotion: { angry: 0, disgust: 0, fear: 0, happy: 1, sad: 0, surprise: 0, neutral: 0 } }] : [],
      error: null,
    });
  }
  return { tablePath: "(synthetic, shape of the shared 3,763 covers)", coversDir: "/", rows, embeddings: { mobilenet_v1: emb(1024), inception_v3: emb(768) } };
}

/** `n` rows spread evenly over the table (the shared labels.csv lists covers genre by genre). */
function subsetFeatureSet(fset: FeatureSet, n: number): FeatureSet {
  if (n <= 0 || n >= fset.rows.length) return fset;
  const pick = Array.from({ length: n }, (_, i) => Math.floor((i * fset.rows.length) / n));
  const embeddings: FeatureSet["embeddings"] = {};
  for (const [name, e] of Object.entries(fset.embeddings)) {
    const data = new Float32Array(n * e.dim);
    pick.forEach((r, i) => data.set(e.data.subarray(r * e.dim, (r + 1) * e.dim), i * e.dim));
    embeddings[name] = { dim: e.dim, data };
  }
  return { ...fset, rows: pick.map((r) => fset.rows[r]), embeddings };
}

/** results.json without clock times, for the identity check. */
function numbers(r: StudyResults): string {
  return JSON.stringify(r, (key, value) => (key === "seconds" || key === "createdAt" || key === "timings" ? undefined : value));
}

async function studyBench(): Promise<void> {
  const table = values.table ?? path.join(datasetsDir(), "features", "covers.csv");
  const real = fs.existsSync(table);
  const subset = Number(values.subset ?? 1000);
  const full = real ? await readFeatureSet(table) : syntheticSharedShape();
  const fset = subsetFeatureSet(full, subset);
  const folds = Number(values.folds ?? 5);
  const repeats = Number(values.repeats ?? 1);
  const workers = Number(values.workers ?? 2);
  const runs: { label: string; workers: number; seconds: number; results: StudyResults; load: number }[] = [];
  for (const [label, w] of [["sequential", 1], [`${workers} workers`, workers]] as const) {
    const t0 = performance.now();
    const { results } = await runStudy(fset, defaultStudyConfig({ folds, repeats, variants: false, thesisTables: null, workers: w, log: () => undefined }));
    runs.push({ label, workers: results.timings.workers ?? 1, seconds: (performance.now() - t0) / 1000, results, load: os.loadavg()[0] });
  }
  const [seq, par] = runs;
  console.log(`\n## Pooled-feature protocol, sequential vs ${workers} fold workers (${real ? `real table ${table}` : "SYNTHETIC table of the shared set's shape"})`);
  console.log(`${seq.results.dataset.rows} covers${fset !== full ? ` (of ${fset.rows.length} rows spread over the table's ${full.rows.length})` : ""}, ${seq.results.dataset.facesRows} with faces; ${Object.keys(seq.results.inputSets).length} + ${Object.keys(seq.results.allCovers).length} input sets, ${folds} folds × ${repeats} repeat(s), head ${seq.results.protocol.head.name}, no variants`);
  const steps = [...new Set([...Object.keys(seq.results.timings.steps), ...Object.keys(par.results.timings.steps)])];
  console.log(`${"".padEnd(20)} ${seq.label.padStart(12)} ${par.label.padStart(12)}`);
  for (const k of steps) console.log(`  ${k.padEnd(18)} ${((seq.results.timings.steps[k] ?? 0).toFixed(1) + " s").padStart(12)} ${((par.results.timings.steps[k] ?? 0).toFixed(1) + " s").padStart(12)}`);
  console.log(`${"total".padEnd(20)} ${(seq.seconds.toFixed(1) + " s").padStart(12)} ${(par.seconds.toFixed(1) + " s").padStart(12)}   speed-up ${(seq.seconds / par.seconds).toFixed(2)}x on ${par.workers} thread(s)`);
  console.log(`${"load average after".padEnd(20)} ${seq.load.toFixed(1).padStart(12)} ${par.load.toFixed(1).padStart(12)}`);
  const same = numbers(seq.results) === numbers(par.results);
  console.log(`results identical (every number in results.json but the clock times): ${same ? "yes" : "NO"}`);
  if (!same) process.exitCode = 1;
}

(async () => {
  await initTf();
  const st = await tfStatus();
  console.log(`# bench:train — backend ${st.backend} (SIMD ${st.simd}, matmul fix ${st.matmulFix}), tfjs ${st.tfjsVersion}, load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);
  if (!values["skip-head"]) await headBench(Number(values.sample ?? 64));
  if (!values["skip-study"]) await studyBench();
})().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
