/**
 * `npm run bench:faces` — accuracy and speed of the face analyzer on the shared labelled crops
 * (../shared/data/faces/utkface: age, gender, race; ../shared/data/faces/emotion), with the
 * out-of-the-box Human pipeline as the baseline in the same run, and a per-lever ablation:
 * - detection: margin around the crop (0, 0.25, 0.4 of its side) and the retry chain;
 * - crops: each head's crop scale around the face's mesh box (one run per scale, combined offline);
 * - heads (computed offline from the same raw outputs): flip TTA, age/gender source.
 * The DEFAULT end-to-end row runs analyze() itself with the shipped defaults.
 * Also faces found on the unlabelled multi-person photos (../shared/data/faces/photos) per margin,
 * so a margin that helps crops but loses small faces in group pictures shows up, and ms per face.
 * Then the default analyzer on tfjs-wasm and on onnxruntime-node side by side (lib/onnx/faceModels.ts),
 * interleaved image by image: ms/image and ms/face for each, and how far their results differ.
 * Images are read from ../shared at run time and never copied into the project.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { initTf, tf } from "../lib/tf";
import { resolveDataRoot } from "../lib/paths";
import { decodeImage, DecodedImage, toTensor3D } from "../lib/vision/image";
import { DEFAULT_FACE_CONFIG, FaceConfig, FaceInfo, loadFaceAnalyzer, RawFace, EmotionName, Race, dominantEmotion, EMOTIONS } from "../lib/vision/faces";
import * as os from "node:os";
import { loadHuman, HumanFace, HumanInstance } from "../lib/vision/human";
import { LabelledFace, loadLabelledFaces, predictFromRaw, Prediction, scoreFaces, FaceMetrics } from "../lib/vision/faceEval";

const TARGETS = { found: 0.98, gender: 0.88, ageMae: 9, race: 0.7, emotion: 0.4 };

function fmt(x: number | null, digits = 3): string {
  return x === null ? "  -  " : x.toFixed(digits);
}

function row(name: string, crops: FaceMetrics, emo: FaceMetrics): string {
  const foundAll = (crops.found * crops.images + emo.found * emo.images) / (crops.images + emo.images);
  return [
    name.padEnd(60),
    fmt(foundAll),
    fmt(crops.gender),
    fmt(crops.ageMae, 2).padStart(6),
    fmt(crops.race),
    fmt(emo.emotion),
  ].join("  ");
}

const HEADER = ["variant".padEnd(60), "found", "gender", "ageMAE", " race", "emotion"].join("  ");

async function decodeAll(items: LabelledFace[]): Promise<DecodedImage[]> {
  return Promise.all(items.map((i) => decodeImage(i.file)));
}

/** Human as the foundation configures it, one call per image, no padding: the "out of the box" figure. */
async function baseline(images: DecodedImage[], human: HumanInstance): Promise<{ preds: (Prediction | null)[]; ms: number; faces: number }> {
  const preds: (Prediction | null)[] = [];
  let faces = 0;
  const t0 = performance.now();
  for (const img of images) {
    const t = tf.tidy(() => tf.expandDims(tf.cast(toTensor3D(img), "float32"), 0));
    const res = await human.detect(t);
    t.dispose();
    const f = res.face as HumanFace[];
    faces += f.length;
    if (f.length === 0) {
      preds.push(null);
      continue;
    }
    const main = [...f].sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3])[0];
    preds.push({
      age: main.age ?? null,
      gender: main.gender === "male" || main.gender === "female" ? main.gender : null,
      race: ((main.race?.[0]?.race as Race | undefined) ?? null),
      emotion: ((main.emotion?.[0]?.emotion as EmotionName | undefined) ?? null),
    });
  }
  return { preds, ms: performance.now() - t0, faces };
}

async function rawAll(images: DecodedImage[], config: Partial<FaceConfig>): Promise<{ raw: RawFace[][]; ms: number; faces: number }> {
  // Photos only: the full analyzer per config (timing included).
  const analyzer = await loadFaceAnalyzer(config);
  const raw: RawFace[][] = [];
  const t0 = performance.now();
  for (const img of images) raw.push(await analyzer.analyzeRaw(img));
  const ms = performance.now() - t0;
  analyzer.dispose();
  return { raw, ms, faces: raw.reduce((a, r) => a + r.length, 0) };
}

/** Largest differences between two runtimes' faces for one image (paired largest first), or null when the counts differ. */
function runtimeDiff(a: FaceInfo[], b: FaceInfo[]): { box: number; age: number; score: number } | null {
  if (a.length !== b.length) return null;
  let box = 0, age = 0, score = 0;
  const d = (x: number | null, y: number | null) => (x === null || y === null ? (x === y ? 0 : Infinity) : Math.abs(x - y));
  a.forEach((fa, i) => {
    const fb = b[i];
    for (let k = 0; k < 4; k++) box = Math.max(box, Math.abs(fa.box[k] - fb.box[k]));
    age = Math.max(age, d(fa.age, fb.age));
    // Gender as P(male), so a flip across 0.5 counts in full.
    const male = (f: FaceInfo) => (f.genderScore === null ? null : f.gender === "male" ? f.genderScore : 1 - f.genderScore);
    score = Math.max(score, d(male(fa), male(fb)), fa.race === fb.race ? d(fa.raceScore, fb.raceScore) : Infinity);
    for (const e of EMOTIONS) score = Math.max(score, d(fa.emotion?.[e] ?? null, fb.emotion?.[e] ?? null));
  });
  return { box, age, score };
}

/** The default analyzer on both runtimes, interleaved per image (same load on both sides). */
async function runtimesSideBySide(images: DecodedImage[]): Promise<Record<string, number>> {
  const onTfjs = await loadFaceAnalyzer({}, { runtime: "tfjs" });
  const onOnnx = await loadFaceAnalyzer({}, { runtime: "onnx" });
  const where = Object.entries(onOnnx.runtimes).map(([k, v]) => `${k} ${v!.runtime}${v!.runtime === "onnx" ? ` (${v!.threads} thr)` : ""}`).join(", ");
  let msT = 0, msO = 0, facesT = 0, facesO = 0, countDiffers = 0, box = 0, age = 0, score = 0;
  for (const img of images) {
    let t = performance.now();
    const a = await onTfjs.analyze(img);
    msT += performance.now() - t;
    t = performance.now();
    const b = await onOnnx.analyze(img);
    msO += performance.now() - t;
    facesT += a.length;
    facesO += b.length;
    const d = runtimeDiff(a, b);
    if (!d) countDiffers++;
    else [box, age, score] = [Math.max(box, d.box), Math.max(age, d.age), Math.max(score, d.score)];
  }
  onTfjs.dispose();
  onOnnx.dispose();
  const n = images.length;
  console.log(`\nRuntimes side by side on ${n} images (interleaved; load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}; onnx: ${where}):`);
  console.log(`  tfjs-wasm         ${(msT / n).toFixed(0).padStart(5)} ms/image, ${(msT / Math.max(1, facesT)).toFixed(0).padStart(5)} ms/face (${facesT} faces)`);
  console.log(`  onnxruntime-node  ${(msO / n).toFixed(0).padStart(5)} ms/image, ${(msO / Math.max(1, facesO)).toFixed(0).padStart(5)} ms/face (${facesO} faces); ${(msT / msO).toFixed(2)}x faster`);
  console.log(`  agreement: face count differs on ${countDiffers} images; elsewhere max |diff| box ${box} px, age ${age.toFixed(2)} y, scores ${score.toFixed(4)} (issue 14: 1 px, 0.5 y, 0.01)`);
  return { msPerImageTfjs: msT / n, msPerImageOnnx: msO / n, facesTfjs: facesT, facesOnnx: facesO, countDiffers, maxBoxDiff: box, maxAgeDiff: age, maxScoreDiff: score };
}

async function main(): Promise<void> {
  const status = await initTf();
  const dataRoot = resolveDataRoot({}).dir;
  const facesDir = path.join(dataRoot, "faces");
  const utkDir = path.join(facesDir, "utkface");
  const emoDir = path.join(facesDir, "emotion");
  const photoDir = path.join(facesDir, "photos");
  if (!fs.existsSync(path.join(utkDir, "labels.csv")) || !fs.existsSync(path.join(emoDir, "labels.csv"))) {
    console.log(`bench:faces skipped: no labelled face sets under ${facesDir} (needs utkface/ and emotion/ with labels.csv)`);
    return;
  }
  const quick = process.env.COVERGENRE_QUICK === "1";
  console.log(`bench:faces — backend ${status.backend}${status.simd ? " (SIMD)" : ""}, tfjs ${status.tfjsVersion}, ${quick ? "QUICK mode, " : ""}data ${facesDir}`);

  const utk = loadLabelledFaces(utkDir);
  const emo = loadLabelledFaces(emoDir);
  const utkImgs = await decodeAll(utk);
  const emoImgs = await decodeAll(emo);
  console.log(`sets: ${utk.length} UTKFace crops (age/gender/race), ${emo.length} emotion crops (${emo.filter((e) => e.emotion === null).length} contempt, excluded from emotion accuracy)`);
  const all = [...utkImgs, ...emoImgs];

  // 1. Baseline: Human out of the box (GEAR overrides FaceRes age/gender inside Human).
  const baseHuman = await loadHuman();
  const base = await baseline(all, baseHuman);
  const baseUtk = scoreFaces(utk, base.preds.slice(0, utk.length));
  const baseEmo = scoreFaces(emo, base.preds.slice(utk.length));

  // 2. Raw outputs with both views kept, from one analyzer with per-call overrides:
  //    - at the default margin, one run per crop scale (all three heads at that scale), so each
  //      head's scale can be chosen offline (detection is deterministic: the same faces come back);
  //    - at margin 0 and 0.4 with the default scales, for the detection levers (found, retry).
  const D = DEFAULT_FACE_CONFIG;
  const dm = D.margin;
  const scales = quick ? [...new Set([D.cropScale, D.gearCropScale, D.emotionCropScale])] : [...new Set([0, 0.9, 1.0, 1.1, 1.3, 1.5, D.cropScale, D.gearCropScale, D.emotionCropScale])];
  const variantAnalyzer = await loadFaceAnalyzer({ flip: true });
  const run = async (name: string, over: Partial<FaceConfig>): Promise<RawFace[][]> => {
    const raw: RawFace[][] = [];
    const t = performance.now();
    for (const img of all) raw.push(await variantAnalyzer.analyzeRaw(img, { retry: false, ...over }));
    console.error(`bench:faces: ${name} done in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    return raw;
  };
  const byScale = new Map<number, RawFace[][]>();
  for (const cs of scales) byScale.set(cs, await run(`crop ${cs}, margin ${dm}`, { margin: dm, cropScale: cs, gearCropScale: cs, emotionCropScale: cs }));
  const defaults = { cropScale: D.cropScale, gearCropScale: D.gearCropScale, emotionCropScale: D.emotionCropScale };
  const margin0 = await run("margin 0", { margin: 0, ...defaults });
  const margin04 = quick ? null : await run("margin 0.4", { margin: 0.4, ...defaults });
  variantAnalyzer.dispose();

  /** Faces whose FaceRes outputs come from the run at scale f, GEAR's from g, emotion's from e. */
  const compose = (f: number, g: number, e: number): RawFace[][] =>
    byScale.get(f)!.map((faces, i) =>
      faces.map((face, j) => {
        const gf = byScale.get(g)![i][j];
        const ef = byScale.get(e)![i][j];
        if (!gf || !ef || gf.box.join() !== face.box.join() || ef.box.join() !== face.box.join()) throw new Error(`detection differed between runs on image ${i}`);
        return { ...face, gearMale: gf.gearMale, gearAge: gf.gearAge, gearRace: gf.gearRace, emotion: ef.emotion };
      }),
    );

  const lines: string[] = [];
  const results: Record<string, { crops: FaceMetrics; emotion: FaceMetrics }> = {};
  const record = (name: string, preds: (Prediction | null)[]) => {
    const crops = scoreFaces(utk, preds.slice(0, utk.length));
    const emotion = scoreFaces(emo, preds.slice(utk.length));
    results[name] = { crops, emotion };
    lines.push(row(name, crops, emotion));
  };
  results["baseline: Human defaults, no padding"] = { crops: baseUtk, emotion: baseEmo };
  lines.push(row("baseline: Human defaults, no padding", baseUtk, baseEmo));

  const cfg = (over: Partial<FaceConfig>): FaceConfig => ({ ...D, ...over });
  const chosenNoRetry = compose(D.cropScale, D.gearCropScale, D.emotionCropScale);
  // "margin m + retry": the margin-0 result wherever margin m found nothing (what analyze() does).
  const chosen = chosenNoRetry.map((r, i) => (r.length > 0 ? r : margin0[i].length > 0 ? margin0[i] : margin04?.[i] ?? []));
  // Detection levers.
  record("margin 0, no retry", margin0.map((r) => predictFromRaw(r, cfg({}))));
  if (margin04) record("margin 0.4, no retry", margin04.map((r) => predictFromRaw(r, cfg({}))));
  record(`margin ${dm}, no retry`, chosenNoRetry.map((r) => predictFromRaw(r, cfg({}))));
  // Crop levers: every head at one scale (0 = Human's detector crop).
  for (const cs of scales) record(`all heads crop ${cs === 0 ? "detector" : cs}, margin ${dm} + retry`, byScale.get(cs)!.map((r, i) => (r.length > 0 ? r : margin0[i])).map((r) => predictFromRaw(r, cfg({}))));
  const DEFAULT_NAME = `DEFAULT (crops ${D.cropScale}/${D.gearCropScale}/${D.emotionCropScale}, margin ${dm} + retry ${D.retryMargins.join("/")}, flip ${D.flip ? "on" : "off"}, age ${D.ageFrom}, gender ${D.genderFrom})`;
  record(DEFAULT_NAME, chosen.map((r) => predictFromRaw(r, cfg({}))));
  // Head levers on the default detection and crops.
  for (const flip of [false, true]) {
    for (const genderFrom of ["gear", "faceres", "mean"] as const) {
      for (const ageFrom of ["gear", "faceres", "mean"] as const) {
        record(`  flip ${flip ? "on " : "off"}, gender ${genderFrom}, age ${ageFrom}`, chosen.map((r) => predictFromRaw(r, cfg({ flip, genderFrom, ageFrom }))));
      }
    }
  }

  // Per-head crop scale: each head's own metrics at each scale (flip on), to choose its crop.
  const headLines: string[] = [];
  for (const cs of scales) {
    const r = byScale.get(cs)!.map((x, i) => (x.length > 0 ? x : margin0[i]));
    const fr = scoreFaces(utk, r.slice(0, utk.length).map((x) => predictFromRaw(x, cfg({ genderFrom: "faceres", ageFrom: "faceres" }))));
    const ge = scoreFaces(utk, r.slice(0, utk.length).map((x) => predictFromRaw(x, cfg({ genderFrom: "gear", ageFrom: "gear" }))));
    const em = scoreFaces(emo, r.slice(utk.length).map((x) => predictFromRaw(x, cfg({}))));
    headLines.push(`  crop ${String(cs === 0 ? "detector" : cs).padEnd(8)}  FaceRes gender ${fmt(fr.gender)} age MAE ${fmt(fr.ageMae, 2)} | GEAR gender ${fmt(ge.gender)} age MAE ${fmt(ge.ageMae, 2)} race ${fmt(ge.race)} | emotion ${fmt(em.emotion)}`);
  }
  console.log("\nPer-head crop scale (× the face's mesh box; flip on):");
  for (const l of headLines) console.log(l);

  console.log("\nAccuracy (found: share of all crops with a face; gender, age MAE, race on UTKFace; emotion on the 7 mapped classes):");
  console.log(HEADER);
  for (const l of lines) console.log(l);
  // 3. Speed and end-to-end accuracy: the default analyzer (analyze(), incl. retries) vs the baseline.
  const analyzer = await loadFaceAnalyzer();
  const before = tf.memory().numTensors;
  let faces = 0;
  const t0 = performance.now();
  const e2e: (Prediction | null)[] = [];
  for (const img of all) {
    const found = await analyzer.analyze(img);
    faces += found.length;
    e2e.push(found.length ? { age: found[0].age, gender: found[0].gender, race: found[0].race, emotion: dominantEmotion(found[0].emotion) } : null);
  }
  const ms = performance.now() - t0;
  const e2eCrops = scoreFaces(utk, e2e.slice(0, utk.length));
  const e2eEmo = scoreFaces(emo, e2e.slice(utk.length));
  results["DEFAULT end to end (analyze())"] = { crops: e2eCrops, emotion: e2eEmo };
  console.log("\nEnd to end with the shipped defaults (analyze(), same sets):");
  console.log(HEADER);
  console.log(row("DEFAULT end to end (analyze())", e2eCrops, e2eEmo));
  const def = results["DEFAULT end to end (analyze())"];
  console.log(`\ntargets: found ≥ ${TARGETS.found}, gender ≥ ${TARGETS.gender}, age MAE ≤ ${TARGETS.ageMae}, race ≥ ${TARGETS.race}, emotion ≥ ${TARGETS.emotion}`);
  const foundAll = (def.crops.found * def.crops.images + def.emotion.found * def.emotion.images) / (def.crops.images + def.emotion.images);
  const checks: [string, boolean][] = [
    ["found", foundAll >= TARGETS.found],
    ["gender", (def.crops.gender ?? 0) >= TARGETS.gender],
    ["age MAE", (def.crops.ageMae ?? Infinity) <= TARGETS.ageMae],
    ["race", (def.crops.race ?? 0) >= TARGETS.race],
    ["emotion", (def.emotion.emotion ?? 0) >= TARGETS.emotion],
  ];
  console.log(`default config: ${checks.map(([k, ok]) => `${k} ${ok ? "MET" : "NOT met"}`).join(", ")}`);
  console.log(`contempt crops (no class among the 7) were called: ${JSON.stringify(def.emotion.unmappedEmotion)}`);
  console.log(`n: gender ${def.crops.genderN}, age ${def.crops.ageN}, race ${def.crops.raceN}, emotion ${def.emotion.emotionN} (small sets: ±1 crop moves gender/race by ${(100 / Math.max(1, def.crops.genderN)).toFixed(1)} points)`);


  const leaked = tf.memory().numTensors - before;
  // Timing interleaved image by image, so both sides see the same load from other processes.
  let msOurs = 0, msBase = 0, facesOurs = 0, facesBase = 0;
  for (const img of all) {
    let t = performance.now();
    facesOurs += (await analyzer.analyze(img)).length;
    msOurs += performance.now() - t;
    const x = tf.tidy(() => tf.expandDims(tf.cast(toTensor3D(img), "float32"), 0));
    t = performance.now();
    facesBase += (await baseHuman.detect(x)).face.length;
    msBase += performance.now() - t;
    x.dispose();
  }
  console.log(`\nSpeed on ${all.length} crops (interleaved per image): default analyzer ${(msOurs / facesOurs).toFixed(0)} ms/face (${facesOurs} faces, ${(msOurs / all.length).toFixed(0)} ms/image); ` +
    `baseline Human ${(msBase / Math.max(1, facesBase)).toFixed(0)} ms/face (${facesBase} faces, ${(msBase / all.length).toFixed(0)} ms/image); ratio ${((msOurs / facesOurs) / (msBase / Math.max(1, facesBase))).toFixed(2)}x per face; tensors leaked over ${all.length} analyze() calls: ${leaked}`);

  // 4. Multi-person photos: faces found per margin (no labels: more is not always better, but a drop shows lost small faces).
  if (fs.existsSync(photoDir) && !quick) {
    const files = fs.readdirSync(photoDir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
    const photos = await Promise.all(files.map((f) => decodeImage(path.join(photoDir, f))));
    const counts: string[] = [];
    for (const [name, config] of [
      ["margin 0", { margin: 0, retry: false }],
      [`default (margin ${dm} + retry)`, {}],
    ] as [string, Partial<FaceConfig>][]) {
      const r = await rawAll(photos, config);
      const withFace = r.raw.filter((x) => x.length > 0).length;
      counts.push(`${name}: ${r.faces} faces, ${withFace}/${photos.length} photos with a face, ${(r.ms / Math.max(1, r.faces)).toFixed(0)} ms/face`);
    }
    console.log(`\nUnlabelled photos (${photos.length}, incl. group pictures):\n  ${counts.join("\n  ")}`);
  }
  // 5. Both runtimes on the crops and the unlabelled photos.
  const photoFiles = fs.existsSync(photoDir) ? fs.readdirSync(photoDir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort() : [];
  const runtimes = await runtimesSideBySide([...all, ...(await Promise.all(photoFiles.map((f) => decodeImage(path.join(photoDir, f)))))]);
  console.log("\nJSON " + JSON.stringify({ results, targets: TARGETS, msPerFace: msOurs / facesOurs, baselineMsPerFace: msBase / Math.max(1, facesBase), firstPassMs: ms, runtimes }));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
