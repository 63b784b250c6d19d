/**
 * Every face on a cover with its age, gender, race and emotion.
 *
 * Human finds the faces (BlazeFace detector + FaceMesh, which refines the box and rejects false
 * detections) and hands back each aligned face crop; we run the attribute models on that crop
 * ourselves instead of letting Human do it, because Human (a) lets GEAR overwrite the better
 * gender of its description model, (b) rounds and thresholds the emotion and race scores, and
 * (c) cannot average a mirrored copy. Running the heads here gives full probability vectors, lets
 * us pick per attribute the model that measured best, and makes flip test-time augmentation a
 * batch of two. Which source wins for what is decided by `npm run bench:faces` on labelled crops
 * (see FaceConfig defaults and README).
 *
 * Where the five models run (tfjs or onnxruntime-node) is decided per model by lib/onnx/faceModels.ts;
 * only their execution moves, the pre- and post-processing here and in Human stay the same.
 */
import * as path from "node:path";
import { tf, initTf } from "../tf";
import { attachOnnx, chooseFaceRuntimes, detachOnnx, faceModelSpecs, GRAPH_EXPORT_REVISION, loadGraphModel, setActiveRuntime, activeRuntime, type FaceModelName } from "../onnx/faceModels";
import { type RuntimeName } from "../onnx/runtime";
import { packageVersion } from "../util/packages";
import { DecodedImage, checkImage, padImage, toTensor3D } from "./image";
import { loadHuman, HumanInstance } from "./human";
import { findGearModel, humanModelsDir } from "./models";

export type Gender = "male" | "female";
export type Race = "white" | "black" | "asian" | "indian" | "other";
export const RACES: readonly Race[] = ["white", "black", "asian", "indian", "other"];
/** The 7 emotion classes, in the order of the study's DeepFace table and of Human's emotion model. */
export const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"] as const;
export type EmotionName = (typeof EMOTIONS)[number];
export type EmotionScores = Record<EmotionName, number>;

export interface FaceInfo {
  /** x, y, w, h in ORIGINAL image pixels: the extent of the face's mesh landmarks, clipped to the image. */
  box: [number, number, number, number];
  /** Face confidence from the mesh model (0..1). */
  score: number;
  age: number | null;
  gender: Gender | null;
  /** Probability of the reported gender (0.5..1). */
  genderScore: number | null;
  race: Race | null;
  raceScore: number | null;
  /** Probabilities summing to 1. */
  emotion: EmotionScores | null;
  /** FaceRes 1024-d descriptor, when `config.embedding` is set. */
  embedding?: number[];
}

/** Which model an attribute comes from; "mean" averages both (ages, or gender probabilities). */
export type AttributeSource = "faceres" | "gear" | "mean";

/** Every setting of the face analyzer, with defaults chosen by measurement (bench/faces.ts). */
export interface FaceConfig {
  /** Most faces per image. Default 20 (covers show bands; Human's default is 1). */
  maxDetected: number;
  /** Detector and mesh confidence below which a face is dropped. Default 0.5. */
  minConfidence: number;
  /**
   * Border added around the whole image before detection, as a fraction of its longer side on
   * each side. Tight face crops otherwise lose the face (BlazeFace needs context around it).
   * Default 0.25.
   */
  margin: number;
  /** When nothing is found with the margin, try the {@link FaceConfig.retryMargins} in turn. Default true. */
  retry: boolean;
  /**
   * Margins tried, in order, when the first finds no face. Default [0, 0.4]: margin 0 keeps small
   * faces in big pictures at full detector resolution; 0.4 rescues the tightest crops.
   */
  retryMargins: number[];
  /**
   * Side of the square the attribute models see, as a multiple of the face's mesh box (its longer
   * side), cut from the original image around the box centre. 0 = use the detector's own crop
   * (which changes with the margin and the detector's coarse box). Used by FaceRes (age,
   * gender). Default 1.5: gender 0.88 vs 0.82-0.83 at 1.1-1.3 on the UTKFace crops (hair is a
   * gender cue), age MAE 8.9 (8.4 at 1.3) — chosen on the same 60 crops, so within noise.
   */
  cropScale: number;
  /**
   * The same for GEAR (race, and age/gender when chosen). Default 1.0: the face's own box, as
   * tight as the UTKFace chips GEAR was trained on. Race on the 60 UTKFace crops: 0.52 at 0.9-1.0,
   * 0.45 at 1.1, 0.42 at 1.2, 0.32 at 0.8 (bench:faces, flip off).
   */
  gearCropScale: number;
  /** The same for the emotion model. Default 1.1 (a tight face: 0.49 vs 0.33 at 1.3 on the emotion set). */
  emotionCropScale: number;
  /**
   * Average each attribute model over the face and its mirror image. Default false: on the shared
   * labelled crops it moved no metric beyond ±1-2 images while doubling the attribute models' cost.
   */
  flip: boolean;
  /** Source of the age. Default "faceres" (MAE 8.5 vs GEAR's 13.7 on UTKFace crops: GEAR's 7 bins stop at 15 and 65). */
  ageFrom: AttributeSource;
  /** Source of the gender. Default "faceres" (the description model; GEAR was ≈ 5 points worse on adult faces, see STACK-NOTES). */
  genderFrom: AttributeSource;
  /** Predict race with GEAR (needs the cached model, see `covergenre setup`). Default true. */
  race: boolean;
  /** Predict the 7 emotions. Default true. */
  emotion: boolean;
  /** Keep the FaceRes 1024-d descriptor per face. Default false (4 kB per face). */
  embedding: boolean;
}

export const DEFAULT_FACE_CONFIG: FaceConfig = {
  maxDetected: 20,
  minConfidence: 0.5,
  margin: 0.25,
  retry: true,
  retryMargins: [0, 0.4],
  cropScale: 1.5,
  gearCropScale: 1.0,
  emotionCropScale: 1.1,
  flip: false,
  ageFrom: "faceres",
  genderFrom: "faceres",
  race: true,
  emotion: true,
  embedding: false,
};

export interface FaceAnalyzer {
  /** All faces, largest first. */
  analyze(img: DecodedImage): Promise<FaceInfo[]>;
  /**
   * Raw model outputs per face (for the benchmark's ablations); same faces as analyze(). `override`
   * changes detection/crop settings for this call only (margin, retry, cropScale).
   */
  analyzeRaw(img: DecodedImage, override?: Partial<Pick<FaceConfig, DetectionKey>>): Promise<RawFace[]>;
  dispose(): void;
  /** Changes whenever results would change (models, settings, code revision, runtime): a cache key. */
  version: string;
  config: FaceConfig;
  /** Where each model of this analyzer runs (onnx = onnxruntime-node, tfjs = the tfjs backend), with how many threads and why. */
  runtimes: Partial<Record<FaceModelName, { runtime: RuntimeName; threads: number; reason: string }>>;
}

/** Options of {@link loadFaceAnalyzer} that change where models run, not what they compute. */
export interface FaceRuntimeOptions {
  /** Force a runtime for this analyzer ("tfjs" never touches onnxruntime-node); default: `COVERGENRE_RUNTIME` and the export checks. */
  runtime?: RuntimeName;
  env?: NodeJS.ProcessEnv;
}

/** Settings {@link FaceAnalyzer.analyzeRaw} can override per call. */
export type DetectionKey = "margin" | "retry" | "retryMargins" | "cropScale" | "gearCropScale" | "emotionCropScale";

/** Unrounded outputs of every head, per view (index 0 = the face, 1 = its mirror when flipping). */
export interface RawFace {
  box: [number, number, number, number];
  score: number;
  /** FaceRes P(male) per view. */
  faceresMale: number[];
  /** FaceRes 100-bin age distribution per view. */
  faceresAge: number[][];
  descriptor: number[] | null;
  /** GEAR P(male) per view, 7-bin age distribution per view, 5-race distribution per view. */
  gearMale: number[] | null;
  gearAge: number[][] | null;
  gearRace: number[][] | null;
  emotion: number[][] | null;
}

/**
 * Revision of the face analysis (this file, human.ts, models.ts): bump it when a change alters
 * results, and record the new output digest in tests/fixtures/revisions.json. Part of the feature
 * cache key and of {@link FaceAnalyzer.version}. Settings are keyed separately.
 */
export const FACES_REVISION = 5;

/** GEAR's 7 age classes (Below20, 21-25, 26-30, 31-40, 41-50, 51-60, Above60) as representative ages. */
const GEAR_AGE_CENTRES = [15, 23, 28, 35.5, 45.5, 55.5, 65];

type Graph = tf.GraphModel;

function validate(config: FaceConfig): void {
  const bad = (what: string) => {
    throw new Error(`invalid face config: ${what}`);
  };
  if (!Number.isInteger(config.maxDetected) || config.maxDetected < 1) bad(`maxDetected must be a positive integer, got ${config.maxDetected}`);
  if (!(config.minConfidence >= 0 && config.minConfidence < 1)) bad(`minConfidence must be in [0, 1), got ${config.minConfidence}`);
  for (const m of [config.margin, ...config.retryMargins]) if (!(m >= 0 && m <= 2)) bad(`margin must be in [0, 2], got ${m}`);
  for (const key of ["cropScale", "gearCropScale", "emotionCropScale"] as const) {
    const v = config[key];
    if (!(v === 0 || (v >= 0.5 && v <= 4))) bad(`${key} must be 0 or in [0.5, 4], got ${v}`);
  }
  for (const key of ["ageFrom", "genderFrom"] as const) {
    if (!["faceres", "gear", "mean"].includes(config[key])) bad(`${key} must be faceres, gear or mean, got ${config[key]}`);
  }
}

/**
 * Load the detector and attribute models (≈ 1-2 s). Keep the analyzer for the life of the process;
 * it is not safe to call analyze() concurrently from one analyzer (one wasm engine per process).
 */
export async function loadFaceAnalyzer(partial: Partial<FaceConfig> = {}, rt: FaceRuntimeOptions = {}): Promise<FaceAnalyzer> {
  const config: FaceConfig = { ...DEFAULT_FACE_CONFIG, ...partial };
  validate(config);
  await initTf();
  const gearJson = config.race || config.ageFrom !== "faceres" || config.genderFrom !== "faceres" ? findGearModel() : null;
  if (!gearJson && (config.ageFrom === "gear" || config.genderFrom === "gear")) {
    throw new Error("the GEAR model is missing (needed for ageFrom/genderFrom = gear): run `covergenre setup`");
  }
  const human = await detectorFor(config);

  const models = humanModelsDir();
  const faceres = await loadGraphModel(path.join(models, "faceres.json"));
  const emotion = config.emotion ? await loadGraphModel(path.join(models, "emotion.json")) : null;
  const gear = gearJson ? await loadGraphModel(gearJson) : null;
  const detector = humanGraphs(human);
  const graphs: Partial<Record<FaceModelName, Graph>> = { ...detector, faceres, ...(emotion ? { emotion } : {}), ...(gear ? { gear } : {}) };
  const runtimes = await placeModels(graphs, rt);
  const onnxModels = (Object.keys(runtimes) as FaceModelName[]).filter((k) => runtimes[k]!.runtime === "onnx");

  const version = [
    `faces-r${FACES_REVISION}`,
    `human-${packageVersion("@vladmandic/human") ?? "?"}`,
    gear ? "gear" : "nogear",
    `md${config.maxDetected}`,
    `mc${config.minConfidence}`,
    `m${config.margin}`,
    `cs${config.cropScale}/${config.gearCropScale}/${config.emotionCropScale}`,
    config.retry ? `retry${config.retryMargins.join("/")}` : "noretry",
    config.flip ? "flip" : "noflip",
    `a-${config.ageFrom}`,
    `g-${config.genderFrom}`,
    config.race && gear ? "race" : "norace",
    config.emotion ? "emo" : "noemo",
    config.embedding ? "emb" : "noemb",
    // Only onnx adds to the key: versions made on tfjs stay what they were.
    ...(onnxModels.length ? [`onnx-g${GRAPH_EXPORT_REVISION}:${onnxModels.join("+")}`] : []),
  ].join(";");
  // Human's detector models are shared by every analyzer in the process: each analyzer selects its runtime before detecting.
  const selectDetector = () => {
    for (const k of ["blazeface", "facemesh"] as const) if (detector[k]) setActiveRuntime(detector[k]!, runtimes[k]!.runtime);
  };

  const heads = { faceres, emotion, gear };

  const analyzeRaw = async (img: DecodedImage, override: Partial<FaceConfig> = {}): Promise<RawFace[]> => {
    checkImage(img);
    const c: FaceConfig = { ...config };
    for (const key of ["margin", "cropScale", "gearCropScale", "emotionCropScale"] as const) if (override[key] !== undefined) c[key] = override[key]!;
    if (override.retry !== undefined) c.retry = override.retry;
    if (override.retryMargins !== undefined) c.retryMargins = override.retryMargins;
    validate(c);
    const margins = [c.margin, ...(c.retry ? c.retryMargins.filter((m) => m !== c.margin) : [])];
    for (const margin of margins) {
      selectDetector();
      const faces = await detectAndDescribe(human, heads, img, margin, c);
      if (faces.length > 0) return faces;
    }
    return [];
  };

  return {
    config,
    version,
    runtimes,
    analyzeRaw,
    async analyze(img: DecodedImage): Promise<FaceInfo[]> {
      const raw = await analyzeRaw(img);
      return raw.map((r) => combineFace(r, config));
    },
    dispose() {
      for (const g of [faceres, emotion, gear]) {
        if (!g) continue;
        detachOnnx(g);
        g.dispose();
      }
      // The Human instance (detector + mesh) is shared per setting for the process (see detectorFor).
    },
  };
}

/** Human's own detector and mesh GraphModels (the ones its detect() executes). */
function humanGraphs(human: HumanInstance): Partial<Record<"blazeface" | "facemesh", Graph>> {
  const loaded = (human.models as unknown as { models?: Record<string, Graph | null> }).models ?? {};
  const out: Partial<Record<"blazeface" | "facemesh", Graph>> = {};
  for (const k of ["blazeface", "facemesh"] as const) if (loaded[k]) out[k] = loaded[k]!;
  return out;
}

/**
 * Decide where each model runs and attach the ONNX exports that passed their check (lib/onnx/faceModels.ts).
 * A model whose export fails, or whose session cannot open, stays on tfjs (the chooser warned once).
 */
async function placeModels(graphs: Partial<Record<FaceModelName, Graph>>, rt: FaceRuntimeOptions): Promise<FaceAnalyzer["runtimes"]> {
  const env = rt.env ?? process.env;
  const names = Object.keys(graphs) as FaceModelName[];
  const out: FaceAnalyzer["runtimes"] = {};
  if (rt.runtime === "tfjs") {
    for (const n of names) {
      setActiveRuntime(graphs[n]!, "tfjs");
      out[n] = { runtime: "tfjs", threads: 1, reason: "asked for tfjs" };
    }
    return out;
  }
  const specs = faceModelSpecs(env).filter((s) => names.includes(s.name));
  const choices = await chooseFaceRuntimes(specs, rt.runtime === "onnx" ? { ...env, COVERGENRE_RUNTIME: "onnx" } : env);
  for (const n of names) {
    const g = graphs[n]!;
    const choice = choices.get(n) ?? { runtime: "tfjs" as const, reason: "no export spec for this model" };
    let reason = choice.reason;
    if (choice.runtime === "onnx") {
      try {
        attachOnnx(g, n, choice, undefined, env);
      } catch (err) {
        reason = `its ONNX session could not open: ${(err as Error).message}`;
        process.stderr.write(`covergenre: face model ${n} runs on tfjs, not onnxruntime-node: ${reason}\n`);
      }
    } else setActiveRuntime(g, "tfjs");
    out[n] = { ...activeRuntime(g), reason };
  }
  return out;
}

/**
 * One Human instance per detector setting, for the life of the process. Human keeps its models in
 * module-level caches anyway, and each new instance holds a few tensors of its own that no API
 * releases: creating one per analyzer leaked 2 tensors per `loadFaceAnalyzer` (e.g. per
 * `covergenre predict` call in a notebook).
 */
const detectors = new Map<string, Promise<HumanInstance>>();

function detectorFor(config: FaceConfig): Promise<HumanInstance> {
  const key = `${config.maxDetected}/${config.minConfidence}`;
  let human = detectors.get(key);
  if (!human) {
    human = loadHuman({ maxDetected: config.maxDetected, minConfidence: config.minConfidence, gear: false, emotion: false }).then((h) => {
      // Only detection + mesh run inside Human; we take each face crop and run the heads ourselves.
      const face = h.config.face as Record<string, Record<string, unknown>>;
      face.detector.return = true;
      face.description.enabled = false;
      face.emotion.enabled = false;
      face.gear = { enabled: false };
      return h;
    });
    human.catch(() => detectors.delete(key));
    detectors.set(key, human);
  }
  return human;
}

interface Heads {
  faceres: Graph;
  emotion: Graph | null;
  gear: Graph | null;
}

interface HumanFaceOut {
  box: [number, number, number, number];
  mesh?: number[][];
  score: number;
  tensor?: tf.Tensor;
}

/**
 * The face's own box: the extent of its 468 mesh landmarks (brow to chin, ear to ear), in input
 * pixels, unclipped. Human's `box` is the detector box enlarged and clipped, and its size changes
 * with the face's scale in the input (236 vs 280 px for the same face at margin 0 and 0.25), so it
 * is neither a stable crop reference nor a tight box to draw.
 */
function meshBox(f: HumanFaceOut): [number, number, number, number] {
  if (!f.mesh || f.mesh.length === 0) return f.box;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of f.mesh) {
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return [x0, y0, x1 - x0, y1 - y0];
}

async function detectAndDescribe(human: HumanInstance, heads: Heads, img: DecodedImage, margin: number, config: FaceConfig): Promise<RawFace[]> {
  // Pad to a square (the detector squashes its input) plus the margin, in one copy.
  const side = Math.max(img.width, img.height);
  const border = Math.round(side * margin);
  const full = side + 2 * border;
  const left = Math.floor((full - img.width) / 2);
  const top = Math.floor((full - img.height) / 2);
  const padded = left || top ? padImage(img, { left, top, right: full - img.width - left, bottom: full - img.height - top }) : img;
  const input = tf.tidy(() => tf.expandDims(tf.cast(toTensor3D(padded), "float32"), 0));
  let detected: HumanFaceOut[];
  try {
    const result = await human.detect(input);
    if (result.error) throw new Error(`face detection failed: ${result.error}`);
    detected = result.face as unknown as HumanFaceOut[];
  } finally {
    input.dispose();
  }
  const out: RawFace[] = [];
  const scales = { faceres: config.cropScale, gear: config.gearCropScale, emotion: config.emotionCropScale };
  const needOriginal = Object.values(scales).some((v) => v > 0) && detected.length > 0;
  const original = needOriginal ? tf.tidy(() => tf.expandDims(tf.div(tf.cast(toTensor3D(img), "float32"), 255), 0)) : null;
  try {
    for (const f of detected) {
      const mb = meshBox(f);
      const box = toOriginalBox(mb, left, top, img.width, img.height);
      if (!f.tensor || box[2] <= 0 || box[3] <= 0) continue;
      // One crop per distinct scale: a square around the (unclipped) mesh box centre, cut from
      // the original image; scale 0 = Human's detector crop.
      const own = new Map<number, tf.Tensor>();
      const cropFor = (scale: number): tf.Tensor => {
        if (scale === 0 || !original) return f.tensor!;
        if (!own.has(scale)) own.set(scale, cropSquare(original as tf.Tensor4D, [mb[0] - left, mb[1] - top, mb[2], mb[3]], scale, img.width, img.height));
        return own.get(scale)!;
      };
      try {
        const crops = { faceres: cropFor(scales.faceres), gear: cropFor(scales.gear), emotion: cropFor(scales.emotion) };
        out.push({ ...(await runHeads(heads, crops, config)), box, score: f.score });
      } finally {
        tf.dispose([...own.values()]);
      }
    }
  } finally {
    for (const f of detected) f.tensor?.dispose();
    original?.dispose();
  }
  out.sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
  return out;
}

/** Map a box from padded-image pixels back to the original image, clipped to it. */
export function toOriginalBox(
  box: [number, number, number, number],
  offsetX: number,
  offsetY: number,
  width: number,
  height: number,
): [number, number, number, number] {
  const x0 = Math.max(0, Math.min(width, box[0] - offsetX));
  const y0 = Math.max(0, Math.min(height, box[1] - offsetY));
  const x1 = Math.max(0, Math.min(width, box[0] + box[2] - offsetX));
  const y1 = Math.max(0, Math.min(height, box[1] + box[3] - offsetY));
  return [Math.round(x0), Math.round(y0), Math.round(x1 - x0), Math.round(y1 - y0)];
}

/** Cut a square of side `scale` × the box's longer side around its centre, resized to 192x192 (0..1 floats; outside the image is black). */
function cropSquare(image: tf.Tensor4D, box: [number, number, number, number], scale: number, width: number, height: number): tf.Tensor4D {
  const cx = box[0] + box[2] / 2;
  const cy = box[1] + box[3] / 2;
  const half = (Math.max(box[2], box[3]) * scale) / 2;
  const norm = [[(cy - half) / height, (cx - half) / width, (cy + half) / height, (cx + half) / width]];
  return tf.image.cropAndResize(image, norm, [0], [192, 192]);
}

function rows(t: tf.Tensor): number[][] {
  return t.arraySync() as number[][];
}

/** Run FaceRes, GEAR and the emotion model, each on its face crop ([h,w,3] or [1,h,w,3] floats 0..1). */
async function runHeads(heads: Heads, faces: { faceres: tf.Tensor; gear: tf.Tensor; emotion: tf.Tensor }, config: FaceConfig): Promise<Omit<RawFace, "box" | "score">> {
  const outs = tf.tidy(() => {
    const views = (face: tf.Tensor): tf.Tensor4D => {
      const one = (face.rank === 3 ? tf.expandDims(face, 0) : face) as tf.Tensor4D;
      return config.flip ? tf.concat([one, tf.image.flipLeftRight(one)], 0) : one;
    };
    // FaceRes: 224x224, 0..255 (as Human's faceres.enhance).
    const fr = heads.faceres.execute(tf.mul(tf.image.resizeBilinear(views(faces.faceres), [224, 224]), 255)) as tf.Tensor[];
    const male = fr.find((t) => t.shape[1] === 1)!;
    const age = fr.find((t) => t.shape[1] === 100)!;
    const desc = config.embedding ? fr.find((t) => t.shape[1] === 1024)! : null;
    const r: Record<string, tf.Tensor> = { male: tf.reshape(male, [-1]), age };
    if (desc) r.desc = desc;
    if (heads.gear) {
      // GEAR: the square crop itself, 0..1 RGB at 198x198. Human cuts a further "empirical" box
      // (top 0, left 0.1, bottom 0.9, right 0.9) out of the face first; on the 200x200 UTKFace
      // chips GEAR was trained on, that box drops race from 0.63 to 0.40 (whole chip vs box).
      const crop = tf.image.resizeBilinear(views(faces.gear), [198, 198]);
      const [gAge, gGender, gRace] = heads.gear.execute(crop, ["Identity:0", "Identity_1:0", "Identity_2:0"]) as tf.Tensor[];
      r.gearAge = gAge;
      r.gearMale = tf.reshape(tf.slice(gGender, [0, 0], [-1, 1]), [-1]);
      r.gearRace = gRace;
    }
    if (heads.emotion && config.emotion) {
      // Emotion (oarriaga): 64x64 grey, scaled to -1..1.
      const small = tf.image.resizeBilinear(views(faces.emotion), [64, 64]);
      const grey = tf.sum(tf.mul(small, tf.tensor1d([0.2989, 0.587, 0.114])), 3, true);
      r.emotion = heads.emotion.execute(tf.mul(tf.sub(grey, 0.5), 2)) as tf.Tensor;
    }
    return r;
  });
  try {
    return {
      faceresMale: Array.from(outs.male.dataSync()),
      faceresAge: rows(outs.age),
      descriptor: outs.desc ? Array.from(outs.desc.dataSync().subarray(0, 1024)) : null,
      gearMale: outs.gearMale ? Array.from(outs.gearMale.dataSync()) : null,
      gearAge: outs.gearAge ? rows(outs.gearAge) : null,
      gearRace: outs.gearRace ? rows(outs.gearRace) : null,
      emotion: outs.emotion ? rows(outs.emotion) : null,
    };
  } finally {
    tf.dispose(Object.values(outs));
  }
}

function meanRows(rs: number[][]): number[] {
  const out = new Array(rs[0].length).fill(0);
  for (const r of rs) for (let i = 0; i < r.length; i++) out[i] += r[i] / rs.length;
  return out;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Expected age under FaceRes's 100 one-year bins. */
export function faceresAge(dist: number[]): number {
  let s = 0;
  let z = 0;
  for (let i = 0; i < dist.length; i++) {
    s += i * dist[i];
    z += dist[i];
  }
  return s / (z || 1);
}

/** Expected age under GEAR's 7 age classes, each represented by its centre. */
export function gearAge(dist: number[]): number {
  let s = 0;
  let z = 0;
  for (let i = 0; i < dist.length; i++) {
    s += GEAR_AGE_CENTRES[i] * dist[i];
    z += dist[i];
  }
  return s / (z || 1);
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Which views to use: all (flip TTA) or only the unflipped one. */
function views<T>(xs: T[], flip: boolean): T[] {
  return flip ? xs : xs.slice(0, 1);
}

/** Turn raw head outputs into a FaceInfo according to the config's sources. */
export function combineFace(raw: RawFace, config: FaceConfig): FaceInfo {
  const flip = config.flip;
  const frMale = mean(views(raw.faceresMale, flip));
  const frAge = faceresAge(meanRows(views(raw.faceresAge, flip)));
  const gMale = raw.gearMale ? mean(views(raw.gearMale, flip)) : null;
  const gAge = raw.gearAge ? gearAge(meanRows(views(raw.gearAge, flip))) : null;

  const pick = (src: AttributeSource, fr: number, g: number | null) => (g === null || src === "faceres" ? fr : src === "gear" ? g : (fr + g) / 2);
  const pMale = pick(config.genderFrom, frMale, gMale);
  const age = pick(config.ageFrom, frAge, gAge);

  let race: Race | null = null;
  let raceScore: number | null = null;
  if (config.race && raw.gearRace) {
    const r = meanRows(views(raw.gearRace, flip));
    const best = r.indexOf(Math.max(...r));
    race = RACES[best];
    raceScore = round(r[best]);
  }
  let emotion: EmotionScores | null = null;
  if (config.emotion && raw.emotion) {
    const e = meanRows(views(raw.emotion, flip));
    const z = e.reduce((a, b) => a + b, 0) || 1;
    emotion = Object.fromEntries(EMOTIONS.map((name, i) => [name, round(e[i] / z)])) as EmotionScores;
  }
  const info: FaceInfo = {
    box: raw.box,
    score: round(raw.score),
    age: round(age, 1),
    gender: pMale >= 0.5 ? "male" : "female",
    genderScore: round(pMale >= 0.5 ? pMale : 1 - pMale),
    race,
    raceScore,
    emotion,
  };
  if (config.embedding && raw.descriptor) info.embedding = raw.descriptor;
  return info;
}

/** The emotion with the highest score, or null. */
export function dominantEmotion(e: EmotionScores | null): EmotionName | null {
  if (!e) return null;
  let best: EmotionName = EMOTIONS[0];
  for (const k of EMOTIONS) if (e[k] > e[best]) best = k;
  return best;
}
