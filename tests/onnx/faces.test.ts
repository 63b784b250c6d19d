/**
 * Human's face models on onnxruntime-node (lib/onnx/graph.ts, lib/onnx/faceModels.ts): every model's
 * translation against tfjs, the whole face analysis on both runtimes within the tolerances on
 * the fixture photos that ship in Human's package, the fallback to tfjs, the cache keys, and no
 * leak of tensors or sessions. Exports go to a private cache; GEAR is used when the user cache has
 * it (as in tests/vision/faces.test.ts), linked into that private cache.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import { initTf, tf } from "../../lib/tf";
import { exportGraphModel, UnsupportedOpError, type GraphDefNode } from "../../lib/onnx/graph";
import {
  chooseFaceRuntimes,
  chooseFaceRuntimesSync,
  FACE_TOLERANCE,
  faceExportId,
  faceModelSpecs,
  prepareFaceExport,
  resetFaceWarnings,
} from "../../lib/onnx/faceModels";
import { openSessions } from "../../lib/onnx/runtime";
import { exportPaths } from "../../lib/onnx/store";
import { defaultFeatureConfig, stageKeys } from "../../lib/features/config";
import { faceresAge, gearAge, loadFaceAnalyzer, type FaceAnalyzer, type RawFace } from "../../lib/vision/faces";
import { decodeImage, type DecodedImage } from "../../lib/vision/image";
import { findGearModel, gearModelDir } from "../../lib/vision/models";
import { packageDir } from "../../lib/util/packages";

jest.setTimeout(600_000);

const ASSETS = path.join(packageDir("@vladmandic/human"), "assets");
/** Human's own sample pictures: one portrait, a grid of faces, two group screenshots. */
const PHOTOS = ["screenshot-faceid.jpg", "samples.jpg", "screenshot-facedetect.jpg", "screenshot-facematch.jpg"];

let tmp: string;
const saved = { cache: process.env.COVERGENRE_CACHE, runtime: process.env.COVERGENRE_RUNTIME };
const userGear = findGearModel();

beforeAll(async () => {
  await initTf();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "covergenre-onnx-faces-"));
  process.env.COVERGENRE_CACHE = path.join(tmp, "cache");
  delete process.env.COVERGENRE_RUNTIME;
  if (userGear) {
    fs.mkdirSync(path.dirname(gearModelDir()), { recursive: true });
    fs.symlinkSync(path.dirname(userGear), gearModelDir());
  }
});

afterAll(() => {
  if (saved.cache === undefined) delete process.env.COVERGENRE_CACHE;
  else process.env.COVERGENRE_CACHE = saved.cache;
  if (saved.runtime !== undefined) process.env.COVERGENRE_RUNTIME = saved.runtime;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Capture what goes to stderr while `fn` runs. */
async function stderrOf<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    return { value: await fn(), lines };
  } finally {
    spy.mockRestore();
  }
}

describe("graph translator", () => {
  test("every face model's export matches tfjs on the check inputs", async () => {
    const specs = faceModelSpecs();
    expect(specs.map((s) => s.name)).toEqual(["blazeface", "facemesh", "faceres", "emotion", ...(userGear ? ["gear"] : [])]);
    for (const spec of specs) {
      const { id, record } = await prepareFaceExport(spec);
      expect({ name: spec.name, ok: record.ok, error: record.error }).toEqual({ name: spec.name, ok: true, error: undefined });
      expect(record.maxRelDiff).toBeLessThanOrEqual(FACE_TOLERANCE);
      expect(record.tfjsOutputs!.length).toBe(record.onnxOutputs!.length);
      expect(fs.existsSync(exportPaths(id).onnx)).toBe(true);
    }
  });

  test("an unsupported op is refused with the node named", () => {
    // model.json nests a Placeholder's shape one level deeper ({ shape: { shape: { dim } } }).
    const nodes = [
      { name: "x", op: "Placeholder", attr: { shape: { shape: { dim: [{ size: 1 }, { size: 4 }, { size: 4 }, { size: 3 }] } } } },
      { name: "odd", op: "Tanh", input: ["x"] },
    ] as never as GraphDefNode[];
    expect(() => exportGraphModel(nodes, {}, ["odd"], "tiny")).toThrow(UnsupportedOpError);
    expect(() => exportGraphModel(nodes, {}, ["odd"], "tiny")).toThrow(/node "odd" \(Tanh\)/);
  });

  test("a graph without a fixed-size image input is refused with the reason", () => {
    const nodes = [{ name: "x", op: "Placeholder", attr: { shape: { shape: { dim: [{ size: -1 }, { size: -1 }, { size: -1 }, { size: 3 }] } } } }] as never as GraphDefNode[];
    expect(() => exportGraphModel(nodes, {}, ["x"], "free")).toThrow(/free: its input must be \[batch, height, width, channels\] with a fixed size/);
  });
});

describe("fallback to tfjs", () => {
  test("an export that does not match, or does not run, is rejected; the model runs on tfjs with one warning and still finds the faces", async () => {
    const cache = path.join(tmp, "fallback");
    const env = { ...process.env, COVERGENRE_CACHE: cache };
    const [blazeface, facemesh] = faceModelSpecs(env);
    const mismatch = await prepareFaceExport(blazeface, { env, tolerance: 1e-12 });
    expect(mismatch.record.ok).toBe(false);
    expect(mismatch.record.error).toMatch(/does not match tfjs: max relative \|difference\| [0-9.e-]+ \(tolerance 1e-12\)/);
    expect(fs.existsSync(exportPaths(mismatch.id, env).onnx)).toBe(false);
    const broken = await prepareFaceExport(facemesh, { env, tamper: (b) => b.slice(0, 100) });
    expect(broken.record.ok).toBe(false);
    expect(broken.record.error).toMatch(/onnxruntime-node could not run the export/);

    resetFaceWarnings();
    const { value: choices, lines } = await stderrOf(async () => {
      const first = await chooseFaceRuntimes([blazeface, facemesh], env);
      await chooseFaceRuntimes([blazeface, facemesh], env); // asked again: no second warning
      return first;
    });
    expect(choices.get("blazeface")!.runtime).toBe("tfjs");
    expect(choices.get("facemesh")!.runtime).toBe("tfjs");
    expect(lines.filter((l) => l.includes("face model blazeface runs on tfjs, not onnxruntime-node: the export does not match tfjs"))).toHaveLength(1);
    expect(lines.filter((l) => l.includes("face model facemesh runs on tfjs, not onnxruntime-node: onnxruntime-node could not run"))).toHaveLength(1);

    const analyzer = await loadFaceAnalyzer({}, { env });
    try {
      expect(analyzer.runtimes.blazeface!.runtime).toBe("tfjs");
      expect(analyzer.runtimes.facemesh!.runtime).toBe("tfjs");
      expect(analyzer.runtimes.faceres!.runtime).toBe("onnx");
      const faces = await analyzer.analyze(await decodeImage(path.join(ASSETS, PHOTOS[0])));
      expect(faces.length).toBe(1);
    } finally {
      analyzer.dispose();
    }
  });
});

/** Both runtimes' raw outputs per face, paired in order (largest face first on both). */
function compareFaces(a: RawFace[], b: RawFace[]): { box: number; age: number; score: number } {
  let box = 0, age = 0, score = 0;
  const diff = (x: number[] | null | undefined, y: number[] | null | undefined) => {
    expect(Boolean(x)).toBe(Boolean(y));
    if (x && y) for (let i = 0; i < x.length; i++) score = Math.max(score, Math.abs(x[i] - y[i]));
  };
  a.forEach((fa, i) => {
    const fb = b[i];
    for (let k = 0; k < 4; k++) box = Math.max(box, Math.abs(fa.box[k] - fb.box[k]));
    age = Math.max(age, Math.abs(faceresAge(fa.faceresAge[0]) - faceresAge(fb.faceresAge[0])));
    if (fa.gearAge && fb.gearAge) age = Math.max(age, Math.abs(gearAge(fa.gearAge[0]) - gearAge(fb.gearAge[0])));
    diff(fa.faceresMale, fb.faceresMale);
    diff(fa.gearMale, fb.gearMale);
    diff(fa.gearRace?.[0], fb.gearRace?.[0]);
    diff(fa.emotion?.[0], fb.emotion?.[0]);
  });
  return { box, age, score };
}

describe("face analysis on both runtimes", () => {
  let onTfjs: FaceAnalyzer;
  let onOnnx: FaceAnalyzer;
  beforeAll(async () => {
    onTfjs = await loadFaceAnalyzer({}, { runtime: "tfjs" });
    onOnnx = await loadFaceAnalyzer({}, { runtime: "onnx" });
  });
  afterAll(() => {
    onTfjs?.dispose();
    onOnnx?.dispose();
  });

  test("where each model runs is reported, and the version (a cache key) names the onnx models", () => {
    const names = ["blazeface", "facemesh", "faceres", "emotion", ...(userGear ? ["gear"] : [])];
    expect(Object.keys(onOnnx.runtimes).sort()).toEqual([...names].sort());
    for (const n of names) {
      expect(onOnnx.runtimes[n as "faceres"]!.runtime).toBe("onnx");
      expect(onTfjs.runtimes[n as "faceres"]!.runtime).toBe("tfjs");
    }
    expect(onTfjs.version).not.toMatch(/onnx/);
    expect(onOnnx.version).toBe(`${onTfjs.version};onnx-g1:${names.join("+")}`);
  });

  test.each(PHOTOS)("%s: same faces, boxes within 1 px, ages within 0.5 years, scores within 0.01", async (file) => {
    const img = await decodeImage(path.join(ASSETS, file));
    const a = await onTfjs.analyzeRaw(img);
    const b = await onOnnx.analyzeRaw(img);
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBe(a.length);
    const d = compareFaces(a, b);
    expect(d.box).toBeLessThanOrEqual(1);
    expect(d.age).toBeLessThanOrEqual(0.5);
    expect(d.score).toBeLessThanOrEqual(0.01);
    if (userGear) expect(b.every((f) => f.gearRace !== null)).toBe(true);
  });

  test("flip (a batch of two per head) and the FaceRes descriptor: same results, descriptor within 1e-4 per value", async () => {
    const img = await decodeImage(path.join(ASSETS, PHOTOS[2]));
    const t = await loadFaceAnalyzer({ flip: true, embedding: true }, { runtime: "tfjs" });
    const o = await loadFaceAnalyzer({ flip: true, embedding: true }, { runtime: "onnx" });
    try {
      const a = await t.analyzeRaw(img);
      const b = await o.analyzeRaw(img);
      expect(b.length).toBe(a.length);
      expect(b.every((f) => f.faceresMale.length === 2)).toBe(true);
      const d = compareFaces(a, b);
      expect(d.box).toBeLessThanOrEqual(1);
      expect(d.score).toBeLessThanOrEqual(0.01);
      let desc = 0;
      a.forEach((f, i) => f.descriptor!.forEach((v, k) => (desc = Math.max(desc, Math.abs(v - b[i].descriptor![k])))));
      expect(desc).toBeLessThanOrEqual(1e-4);
    } finally {
      t.dispose();
      o.dispose();
    }
  });

  test("no leak over 200 generated covers: tensor count flat, the same sessions reused, head sessions released on dispose", async () => {
    const portrait = await sharp(path.join(ASSETS, PHOTOS[0])).resize(200).raw().toBuffer({ resolveWithObject: true });
    const covers: DecodedImage[] = [];
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
    for (let i = 0; i < 200; i++) {
      // A face at a random place on a random background, every fifth cover none: heads run and do not run.
      const size = 240 + Math.floor(rnd() * 160);
      const base = sharp({ create: { width: size, height: size, channels: 3, background: { r: Math.floor(rnd() * 255), g: Math.floor(rnd() * 255), b: Math.floor(rnd() * 255) } } });
      const withFace = i % 5 !== 4 ? base.composite([{ input: portrait.data, raw: portrait.info, left: Math.floor(rnd() * (size - 200)), top: Math.floor(rnd() * (size - 141)) }]) : base;
      const buf = await sharp(await withFace.png().toBuffer()).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      covers.push({ data: new Uint8Array(buf.data), width: buf.info.width, height: buf.info.height });
    }
    const analyzer = await loadFaceAnalyzer({}, { runtime: "onnx" });
    await analyzer.analyze(covers[0]);
    const tensors = tf.memory().numTensors;
    const sessions = openSessions();
    let found = 0;
    for (const c of covers) found += (await analyzer.analyze(c)).length;
    expect(found).toBeGreaterThan(100);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(openSessions()).toBe(sessions);
    analyzer.dispose();
    // FaceRes, emotion and GEAR belong to the analyzer; the detector's two sessions live with Human's shared models.
    expect(openSessions()).toBe(sessions - (userGear ? 3 : 2));
  });
});

describe("feature cache keys", () => {
  test("the faces key names the runtime: tfjs keeps its old key, onnx gets its own", () => {
    const config = { ...defaultFeatureConfig(), backbones: [] };
    process.env.COVERGENRE_RUNTIME = "tfjs";
    const tfjsKey = stageKeys(config).faces;
    process.env.COVERGENRE_RUNTIME = "onnx";
    const onnxKey = stageKeys(config).faces;
    delete process.env.COVERGENRE_RUNTIME;
    expect(tfjsKey).toMatch(/^faces-[0-9a-f]{12}$/);
    expect(onnxKey).toMatch(/^faces-onnx-[0-9a-f]{12}$/);
    const sync = chooseFaceRuntimesSync();
    for (const spec of faceModelSpecs()) expect(sync.get(spec.name)).toMatchObject({ runtime: "onnx", id: faceExportId(spec) });
  });

  test("with no exports yet, the key's decision makes them in a child process (doctor's peek makes none)", () => {
    const env = { ...process.env, COVERGENRE_CACHE: path.join(tmp, "fresh"), COVERGENRE_RUNTIME: "onnx" };
    const peek = chooseFaceRuntimesSync(env, { peek: true });
    expect([...peek.values()].every((c) => c.runtime === "onnx" && c.pending)).toBe(true);
    expect(fs.existsSync(path.join(tmp, "fresh"))).toBe(false);
    const made = chooseFaceRuntimesSync(env);
    expect([...made.keys()]).toEqual(["blazeface", "facemesh", "faceres", "emotion"]);
    for (const [name, c] of made) {
      expect({ name, runtime: c.runtime, ok: c.record?.ok }).toEqual({ name, runtime: "onnx", ok: true });
      expect(fs.existsSync(exportPaths(c.id!, env).onnx)).toBe(true);
    }
  });
});
