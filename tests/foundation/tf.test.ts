import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import {
  applyWasmMatMulFix,
  folderIO,
  initTf,
  isWasmMatMulFixApplied,
  removeWasmMatMulFix,
  requestedBackend,
  tf,
} from "../../lib/tf";

beforeAll(async () => {
  await initTf("wasm");
});

describe("backend selection", () => {
  test("wasm with SIMD is the default backend", async () => {
    const status = await initTf();
    expect(status.backend).toBe("wasm");
    expect(status.simd).toBe(true);
    expect(tf.getBackend()).toBe("wasm");
  });

  test("COVERGENRE_BACKEND picks the backend and rejects unknown names", () => {
    expect(requestedBackend({})).toBe("wasm");
    expect(requestedBackend({ COVERGENRE_BACKEND: " CPU " })).toBe("cpu");
    expect(requestedBackend({ COVERGENRE_BACKEND: "tensorflow" })).toBe("tensorflow");
    expect(() => requestedBackend({ COVERGENRE_BACKEND: "webgl" })).toThrow(/not a backend; use wasm, cpu or tensorflow/);
  });
});

describe("wasm BatchMatMul transpose fix", () => {
  afterAll(() => applyWasmMatMulFix());

  function products(): Float32Array[] {
    return tf.tidy(() => {
      const a = tf.randomNormal([3, 5, 4], 0, 1, "float32", 7);
      const b = tf.randomNormal([3, 5, 6], 0, 1, "float32", 8);
      const c = tf.randomNormal([3, 6, 4], 0, 1, "float32", 9);
      const d = tf.randomNormal([3, 2, 5], 0, 1, "float32", 12);
      const x = tf.randomNormal([8, 16], 0, 1, "float32", 10);
      const w = tf.randomNormal([16, 3], 0, 1, "float32", 11);
      // Dense-layer gradients: the shapes that hit the slow transposed path.
      const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.relu(tf.matMul(xx, ww)).sum())([x, w]);
      const fused = tf.fused.matMul({ a: b, b: d, transposeA: true, transposeB: true, bias: tf.ones([2]), activation: "relu" });
      return [
        tf.matMul(a, b, true, false),
        tf.matMul(b, c, false, false),
        tf.matMul(a, c, false, true),
        tf.matMul(c, b, true, true),
        dx,
        dw,
        fused,
      ].map((t) => t.dataSync() as Float32Array);
    });
  }

  test("gives bit-identical results to the unpatched kernel (plain, transposed, gradients, fused)", () => {
    expect(isWasmMatMulFixApplied()).toBe(true);
    const patched = products();
    removeWasmMatMulFix();
    expect(isWasmMatMulFixApplied()).toBe(false);
    const original = products();
    applyWasmMatMulFix();
    expect(patched.length).toBe(original.length);
    for (let i = 0; i < patched.length; i++) expect(Array.from(patched[i])).toEqual(Array.from(original[i]));
  });

  test("leaks no tensors or wasm buffers", () => {
    products();
    const before = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    for (let i = 0; i < 5; i++) products();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.memory().numBytes).toBe(bytes);
  });
});

describe("file:// models and folder checkpoints", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "cg-tf-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("global fetch serves file:// URLs from disk and 404s missing files", async () => {
    const file = path.join(dir, "x.json");
    fs.writeFileSync(file, '{"a":1}');
    const ok = await fetch(pathToFileURL(file).href);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ a: 1 });
    const missing = await fetch(pathToFileURL(path.join(dir, "nope.json")).href);
    expect(missing.status).toBe(404);
  });

  test("folderIO round-trips a model: same predictions, no temp files left", async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [4], units: 3, activation: "relu" }), tf.layers.dense({ units: 2, activation: "sigmoid" })],
    });
    const x = tf.tensor2d([[1, 2, 3, 4], [0.5, -1, 0, 2]]);
    const expected = (model.predict(x) as tf.Tensor).arraySync();
    await model.save(folderIO(path.join(dir, "ckpt")));
    expect(fs.readdirSync(path.join(dir, "ckpt")).sort()).toEqual(["model.json", "weights.bin"]);
    const loaded = await tf.loadLayersModel(folderIO(path.join(dir, "ckpt")));
    expect((loaded.predict(x) as tf.Tensor).arraySync()).toEqual(expected);
    // Also loadable through a file:// URL, the way Human and other tools load models.
    const viaUrl = await tf.loadLayersModel(pathToFileURL(path.join(dir, "ckpt", "model.json")).href);
    expect((viaUrl.predict(x) as tf.Tensor).arraySync()).toEqual(expected);
    tf.dispose([x]);
    model.dispose();
    loaded.dispose();
    viaUrl.dispose();
  });

  test("loading a missing checkpoint names the file", async () => {
    await expect(tf.loadLayersModel(folderIO(path.join(dir, "missing")))).rejects.toThrow(/missing[/\\]model\.json/);
  });
});
