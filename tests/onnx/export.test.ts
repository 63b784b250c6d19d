/**
 * The tfjs → ONNX exporter and the onnx runtime of the image backbones (lib/onnx/). Runs without
 * ../shared: a small layers model with MobileNet's and InceptionV3's layer types is built here,
 * saved, exported, and compared with tfjs. With ../shared/models present, the real MobileNet (and
 * the nsfwjs InceptionV3 mixed7, which ships in npm) are compared on generated images too.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import { folderIO, initTf, tf } from "../../lib/tf";
import { exportLayersModel, samePads, UnsupportedLayerError } from "../../lib/onnx/export";
import { chooseRuntime, chooseRuntimeSync, prepareExport, resetWarnings } from "../../lib/onnx/backbone";
import { createSession, defaultThreads, effectiveRuntime, openSessions, requestedRuntime } from "../../lib/onnx/runtime";
import { exportId, exportPaths } from "../../lib/onnx/store";
import { loadEmbedder } from "../../lib/vision/embed";
import { BACKBONES, resolveBackboneSpec } from "../../lib/vision/backbone";
import { decodeImage, type DecodedImage } from "../../lib/vision/image";
import { Extractor } from "../../lib/features/extract";
import { defaultFeatureConfig, stageKeys } from "../../lib/features/config";
import { needs, SHARED_PART } from "../helpers/parts";

jest.setTimeout(180_000);

let tmp: string;
let env: NodeJS.ProcessEnv;
const savedEnv = { cache: process.env.COVERGENRE_CACHE, runtime: process.env.COVERGENRE_RUNTIME };

beforeAll(async () => {
  await initTf();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "covergenre-onnx-"));
  // Exports of this file's models go to a private cache; the real models' exports too.
  process.env.COVERGENRE_CACHE = path.join(tmp, "cache");
  delete process.env.COVERGENRE_RUNTIME;
  env = { ...process.env };
});

afterAll(() => {
  if (savedEnv.cache === undefined) delete process.env.COVERGENRE_CACHE;
  else process.env.COVERGENRE_CACHE = savedEnv.cache;
  if (savedEnv.runtime !== undefined) process.env.COVERGENRE_RUNTIME = savedEnv.runtime;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Random BatchNorm statistics, so folding is really tested (the defaults are an identity). */
function randomizeBatchNorms(model: tf.LayersModel, seed: number): void {
  for (const l of model.layers) {
    if (l.getClassName() !== "BatchNormalization") continue;
    const ws = l.getWeights();
    l.setWeights(ws.map((w, i) => (i === ws.length - 1 ? tf.randomUniform(w.shape, 0.2, 2, "float32", seed + i) : tf.randomNormal(w.shape, 0, 0.5, "float32", seed + i))));
  }
}

/**
 * MobileNet's layer types (zero padding, conv, depthwise conv at stride 2 with "same" padding on an
 * odd size, batch norm, ReLU6 as an activation and as a layer, GAP) plus InceptionV3's (max and
 * average pooling with "same", concatenate, conv without BN scale).
 */
function tinyModel(opts: { unsupported?: boolean; seed?: number } = {}): tf.LayersModel {
  const input = tf.input({ shape: [37, 37, 3] });
  let x = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]] }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: "valid", useBias: false, name: "conv1" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: "conv1_bn" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: "relu6", name: "conv1_relu" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: "same", useBias: false, name: "conv_dw" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: "conv_dw_bn" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ maxValue: 6, name: "conv_dw_relu" }).apply(x) as tf.SymbolicTensor;
  const a = tf.layers.conv2d({ filters: 6, kernelSize: 1, padding: "same", activation: "relu", name: "branch_a" }).apply(x) as tf.SymbolicTensor;
  let b = tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: "same" }).apply(x) as tf.SymbolicTensor;
  b = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same", useBias: false, name: "branch_b" }).apply(b) as tf.SymbolicTensor;
  b = tf.layers.batchNormalization({ scale: false, name: "branch_b_bn" }).apply(b) as tf.SymbolicTensor;
  b = tf.layers.activation({ activation: "relu" }).apply(b) as tf.SymbolicTensor;
  x = tf.layers.concatenate({ axis: -1 }).apply([a, b]) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: "same" }).apply(x) as tf.SymbolicTensor;
  if (opts.unsupported) x = tf.layers.upSampling2d({ size: [2, 2], name: "odd_upsampling" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x });
  randomizeBatchNorms(model, opts.seed ?? 7);
  return model;
}

async function saveModel(model: tf.LayersModel, name: string): Promise<string> {
  const dir = path.join(tmp, name);
  await model.save(folderIO(dir));
  model.dispose();
  return path.join(dir, "model.json");
}

/** Real-looking test images: gradients, noise and shapes of several sizes (the embedder resizes). */
async function images(count: number): Promise<DecodedImage[]> {
  const out: DecodedImage[] = [];
  for (let k = 0; k < count; k++) {
    const w = 40 + 13 * k;
    const h = 50 + 7 * k;
    const raw = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 3;
        raw[i] = (x * 255) / w;
        raw[i + 1] = ((y * 255) / h + k * 40) % 256;
        raw[i + 2] = ((x * y + k * 31) * 7) % 256;
      }
    }
    out.push(await decodeImage(await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer()));
  }
  return out;
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

describe("exporter", () => {
  test("TF 'same' padding: the odd pixel goes after, as in TensorFlow", () => {
    expect(samePads(224, 3, 2)).toEqual([0, 1]);
    expect(samePads(19, 3, 2)).toEqual([1, 1]);
    expect(samePads(7, 3, 1)).toEqual([1, 1]);
    expect(samePads(17, 1, 1)).toEqual([0, 0]);
    expect(samePads(8, 3, 2, 2)).toEqual([1, 2]);
  });

  test("a small model with MobileNet's and InceptionV3's layer types matches tfjs within 1e-4, batch norms folded", async () => {
    const spec = resolveBackboneSpec(`tiny=${await saveModel(tinyModel(), "tiny")},size=37`);
    const { record } = await prepareExport(spec, { env });
    expect(record.ok).toBe(true);
    expect(record.maxDiffPooled!).toBeLessThanOrEqual(1e-4);
    expect(record.maxDiffMap!).toBeLessThanOrEqual(1e-4);
    expect(record.foldedBatchNorms).toBe(3);
    expect(record.mapShape).toEqual([10]);

    // And through the embedder on decoded images of other sizes, against the tfjs runtime.
    const imgs = await images(5);
    const onnx = await loadEmbedder([spec], { runtime: "onnx" });
    const tfjs = await loadEmbedder([spec], { runtime: "tfjs" });
    try {
      expect(onnx.backbones[0].runtime).toBe("onnx");
      expect(tfjs.backbones[0].runtime).toBe("tfjs");
      expect(onnx.shapes).toEqual(tfjs.shapes);
      const a = await onnx.embed(imgs, { maps: ["tiny"] });
      const b = await tfjs.embed(imgs, { maps: ["tiny"] });
      expect(a.pooled.tiny).toHaveLength(5);
      expect(maxDiff(a.pooled.tiny, b.pooled.tiny)).toBeLessThanOrEqual(1e-4);
      expect(maxDiff(a.maps.tiny, b.maps.tiny)).toBeLessThanOrEqual(1e-4);
    } finally {
      onnx.dispose();
      tfjs.dispose();
    }
  });

  test("mean + standard deviation pools of inner layers (meanstd=…): exported, and within 1e-4 of tfjs", async () => {
    const spec = resolveBackboneSpec(`tinyms=${await saveModel(tinyModel({ seed: 41 }), "tinyms")},size=37,meanstd=conv1_relu+conv_dw_relu`);
    expect(spec.meanStd).toEqual(["conv1_relu", "conv_dw_relu"]);
    const { record } = await prepareExport(spec, { env });
    expect(record).toMatchObject({ ok: true, mapShape: [2 * (8 + 8)] });
    expect(record.maxDiffPooled!).toBeLessThanOrEqual(1e-4);
    const imgs = await images(3);
    const onnx = await loadEmbedder([spec], { runtime: "onnx" });
    const tfjs = await loadEmbedder([spec], { runtime: "tfjs" });
    try {
      const a = await onnx.embed(imgs);
      const b = await tfjs.embed(imgs);
      expect(a.pooled.tinyms[0]).toHaveLength(32);
      expect(maxDiff(a.pooled.tinyms, b.pooled.tinyms)).toBeLessThanOrEqual(1e-4);
      // std half is non-negative and not all zero
      expect(Math.min(...Array.from(a.pooled.tinyms[0].slice(8, 16)))).toBeGreaterThanOrEqual(0);
      expect(Math.max(...Array.from(a.pooled.tinyms[0].slice(8, 16)))).toBeGreaterThan(0);
    } finally {
      onnx.dispose();
      tfjs.dispose();
    }
  });

  test("a spatial output: the map comes back NHWC as tfjs returns it, pooled is its spatial mean", async () => {
    const input = tf.input({ shape: [16, 12, 3] });
    let x = tf.layers.conv2d({ filters: 5, kernelSize: 3, strides: 2, padding: "same", activation: "relu6" }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: "valid", activation: "relu" }).apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: x });
    const exported = exportLayersModel(model, { scaling: "unit" });
    expect(exported.mapShape).toEqual([6, 4, 10]);
    const pixels = tf.tidy(() => tf.randomUniform([2, 16, 12, 3], 0, 255, "float32", 5).floor());
    const ref = tf.tidy(() => model.predict(pixels.div(255)) as tf.Tensor);
    const session = await createSession(exported.bytes, 1);
    try {
      const out = await session.run((await pixels.data()) as Float32Array, [2, 16, 12, 3], ["map", "pooled"]);
      const refMap = (await ref.data()) as Float32Array;
      const refPooled = tf.tidy(() => ref.mean([1, 2]).dataSync() as Float32Array);
      expect(maxDiff([out.map], [refMap])).toBeLessThanOrEqual(1e-5);
      expect(maxDiff([out.pooled], [refPooled])).toBeLessThanOrEqual(1e-5);
      expect(out.pooled).toHaveLength(2 * 10);
    } finally {
      await session.release();
      tf.dispose([pixels, ref]);
      model.dispose();
    }
  });

  test("an unsupported layer: a clear error naming it, and the backbone falls back to tfjs with one warning", async () => {
    const model = tinyModel({ unsupported: true });
    expect(() => exportLayersModel(model, { scaling: "symmetric" })).toThrow(UnsupportedLayerError);
    expect(() => exportLayersModel(model, { scaling: "symmetric" })).toThrow(/cannot export layer "odd_upsampling" \(UpSampling2D\) to ONNX/);
    const spec = resolveBackboneSpec(`odd=${await saveModel(model, "odd")},size=37`);
    resetWarnings();
    const stderr = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const first = await loadEmbedder([spec]);
      const second = await loadEmbedder([spec]);
      expect(first.backbones[0]).toMatchObject({ runtime: "tfjs", threads: 1 });
      expect(first.backbones[0].reason).toMatch(/odd_upsampling/);
      const out = await first.embed(await images(2));
      expect(out.pooled.odd).toHaveLength(2);
      first.dispose();
      second.dispose();
      const warnings = stderr.mock.calls.map((c) => String(c[0])).filter((s) => s.includes("backbone odd"));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/backbone odd runs on tfjs, not onnxruntime-node: cannot export layer "odd_upsampling"/);
    } finally {
      stderr.mockRestore();
    }
    // The failure is recorded: the sync decision (cache keys) agrees without exporting again.
    expect(chooseRuntimeSync(spec, env)).toMatchObject({ runtime: "tfjs" });
  });

  test("an export that does not match tfjs is not used: fallback to tfjs, reason recorded", async () => {
    const spec = resolveBackboneSpec(`strict=${await saveModel(tinyModel({ seed: 3 }), "strict")},size=37`);
    // A negative tolerance makes any export a mismatch.
    const { record } = await prepareExport(spec, { env, tolerance: -1 });
    expect(record.ok).toBe(false);
    expect(record.error).toMatch(/does not match tfjs/);
    expect(fs.existsSync(exportPaths(exportId(spec), env).onnx)).toBe(false);
    resetWarnings();
    const stderr = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const choice = await chooseRuntime(spec, env);
      expect(choice.runtime).toBe("tfjs");
      expect(choice.reason).toMatch(/does not match tfjs/);
    } finally {
      stderr.mockRestore();
    }
  });
});

describe("export cache", () => {
  test("keyed by the source model's content: reused while unchanged, redone when the weights change", async () => {
    const modelJson = await saveModel(tinyModel({ seed: 11 }), "cached");
    const spec = resolveBackboneSpec(`cached=${modelJson},size=37`);
    const first = await prepareExport(spec, { env });
    const stamp = fs.statSync(exportPaths(first.id, env).onnx).mtimeMs;
    const again = await prepareExport(spec, { env });
    expect(again.id).toBe(first.id);
    expect(again.record.createdAt).toBe(first.record.createdAt);
    expect(fs.statSync(exportPaths(first.id, env).onnx).mtimeMs).toBe(stamp);
    // New weights in the same folder: a new id, a new export.
    await saveModel(tinyModel({ seed: 12 }), "cached");
    const changed = await prepareExport(spec, { env });
    expect(changed.id).not.toBe(first.id);
    expect(changed.record.ok).toBe(true);
    // The cut, size and scaling are part of the id too.
    expect(exportId({ ...spec, scaling: "unit" })).not.toBe(changed.id);
  });
});

describe("runtime switch", () => {
  test("COVERGENRE_RUNTIME: onnx, tfjs, unset (onnx where onnxruntime-node loads), anything else an error", () => {
    expect(requestedRuntime({})).toBe("auto");
    expect(requestedRuntime({ COVERGENRE_RUNTIME: "ONNX" })).toBe("onnx");
    expect(requestedRuntime({ COVERGENRE_RUNTIME: "tfjs" })).toBe("tfjs");
    expect(() => requestedRuntime({ COVERGENRE_RUNTIME: "tensorrt" })).toThrow(/COVERGENRE_RUNTIME="tensorrt" is not a runtime; use onnx or tfjs/);
    expect(effectiveRuntime({})).toEqual({ runtime: "onnx", reason: "default: onnxruntime-node loads" });
    expect(effectiveRuntime({ COVERGENRE_RUNTIME: "tfjs" }).runtime).toBe("tfjs");
  });

  test("threads: 1 inside a worker thread, one per CPU (at most 4) in the main thread, COVERGENRE_ORT_THREADS overrides", () => {
    expect(defaultThreads({}, false)).toBe(1);
    expect(defaultThreads({}, true)).toBe(Math.min(4, os.cpus().length));
    expect(defaultThreads({ COVERGENRE_ORT_THREADS: "2" }, false)).toBe(2);
    expect(() => defaultThreads({ COVERGENRE_ORT_THREADS: "0" })).toThrow(/must be an integer/);
  });

  test("feature cache keys name the runtime, so switching never mixes rows", async () => {
    const modelJson = await saveModel(tinyModel({ seed: 21 }), "keyed");
    const config = { ...defaultFeatureConfig(), faces: false, backbones: [`keyed=${modelJson},size=37`] };
    process.env.COVERGENRE_RUNTIME = "tfjs";
    const tfjsKey = stageKeys(config)[`emb:${config.backbones[0]}`];
    // onnx: the export does not exist yet, so the key's decision makes it in a child process.
    process.env.COVERGENRE_RUNTIME = "onnx";
    const onnxKey = stageKeys(config)[`emb:${config.backbones[0]}`];
    delete process.env.COVERGENRE_RUNTIME;
    const defaultKey = stageKeys(config)[`emb:${config.backbones[0]}`];
    expect(tfjsKey).toMatch(/^emb-keyed-nomap-[0-9a-f]{12}$/);
    expect(onnxKey).toMatch(/^emb-keyed-nomap-onnx-[0-9a-f]{12}$/);
    expect(defaultKey).toBe(onnxKey);
    expect(fs.existsSync(exportPaths(exportId(resolveBackboneSpec(config.backbones[0])), env).onnx)).toBe(true);
  });
});

describe("no leaks", () => {
  test("3,000 covers through the extractor on onnx: tfjs tensor count flat, every session released on dispose", async () => {
    const modelJson = await saveModel(tinyModel({ seed: 31 }), "leak");
    const backbone = `leak=${modelJson},size=37`;
    const dir = path.join(tmp, "leak-images");
    fs.mkdirSync(dir);
    const files: string[] = [];
    for (const [i, img] of (await images(4)).entries()) {
      const f = path.join(dir, `${i}.png`);
      await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } }).png().toFile(f);
      files.push(f);
    }
    const sessionsBefore = openSessions();
    const extractor = await Extractor.create({ ...defaultFeatureConfig(), faces: false, backbones: [backbone], workers: 0 });
    expect(extractor.runtimes()).toEqual([expect.objectContaining({ name: "leak", runtime: "onnx" })]);
    expect(openSessions()).toBe(sessionsBefore + 1);
    const items = files.map((f, i) => ({ hash: String(i), absPath: f, stages: [`emb:${backbone}`] }));
    await extractor.run(items);
    const tensors = extractor.numTensors();
    // 3,000 covers (the leak bar), 4 per batch.
    for (let i = 0; i < 750; i++) {
      const r = await extractor.run(items);
      expect(r.items.every((it) => it.emb[backbone]?.ok)).toBe(true);
    }
    expect(extractor.numTensors()).toBe(tensors);
    extractor.dispose();
    expect(openSessions()).toBe(sessionsBefore);
  });
});

const mobilenet = BACKBONES.mobilenet_v1();
needs({ [`MobileNet v1 in ${SHARED_PART}`]: Boolean(mobilenet) }).describe("the real backbones (../shared/models MobileNet v1; nsfwjs InceptionV3 mixed7)", () => {
  test.each(["mobilenet_v1", "inception_v3", "mobilenet_v1_ms"])("%s: the export matches tfjs within 1e-4 on generated covers", async (name) => {
    const imgs = await images(6);
    const onnx = await loadEmbedder([name], { runtime: "onnx" });
    const tfjs = await loadEmbedder([name], { runtime: "tfjs" });
    try {
      expect(onnx.backbones[0].runtime).toBe("onnx");
      expect(onnx.shapes).toEqual(tfjs.shapes);
      const a = await onnx.embed(imgs);
      const b = await tfjs.embed(imgs);
      expect(maxDiff(a.pooled[name], b.pooled[name])).toBeLessThanOrEqual(1e-4);
    } finally {
      onnx.dispose();
      tfjs.dispose();
    }
  });
});
