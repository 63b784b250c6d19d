import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { folderIO, initTf, tf } from "../../lib/tf";
import { BACKBONES, loadBackbone, readNsfwjsBundle, reshapeTopology, resolveBackboneSpec } from "../../lib/vision/backbone";
import { sharedModelsDir } from "../../lib/paths";
import { needs, SHARED_PART } from "../helpers/parts";

beforeAll(async () => {
  await initTf();
});

describe("InceptionV3 from the nsfwjs bundle", () => {
  test("cut at mixed7 and rebuilt at 150x150 gives the study's [7,7,768] map and a 768-d pooled vector", async () => {
    const bb = await loadBackbone("inception_v3");
    expect(bb.spec).toMatchObject({ inputSize: 150, cutLayer: "mixed7" });
    expect(bb.outputShape).toEqual([7, 7, 768]);
    const x = tf.randomUniform([2, 150, 150, 3], 0, 255) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const { map, pooled } = bb.embed(x);
    expect(map.shape).toEqual([2, 7, 7, 768]);
    expect(pooled.shape).toEqual([2, 768]);
    // pooled is the spatial mean of the map, and different images give different features
    const maxDiff = tf.tidy(() => tf.max(tf.abs(map.mean([1, 2]).sub(pooled))).dataSync()[0]);
    expect(maxDiff).toBeLessThan(1e-4);
    const p = pooled.arraySync();
    expect(p[0]).not.toEqual(p[1]);
    tf.dispose([map, pooled]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    bb.dispose();
  });

  test("reshapeTopology keeps only mixed7's ancestors and resizes the input", () => {
    const { modelTopology } = readNsfwjsBundle("inception_v3");
    const cut = reshapeTopology(modelTopology as object, "mixed7", 150) as { model_config: { config: { layers: Array<{ name: string; config: { batch_input_shape?: number[] } }>; output_layers: unknown } } };
    const layers = cut.model_config.config.layers;
    const names = layers.map((l) => l.name);
    expect(names).toContain("mixed7");
    expect(names).not.toContain("mixed8");
    expect(names).not.toContain("dense_3");
    expect(cut.model_config.config.output_layers).toEqual([["mixed7", 0, 0]]);
    expect(layers[0].config.batch_input_shape).toEqual([null, 150, 150, 3]);
    expect(() => reshapeTopology(modelTopology as object, "mixed99", 150)).toThrow(/layer "mixed99" is not in the model/);
  });
});

describe("pluggable backbones", () => {
  test("spec strings: builtin names, name=path with size/cut/scaling, and clear errors", () => {
    expect(resolveBackboneSpec("inception_v3").source).toBe("nsfwjs:inception_v3");
    expect(resolveBackboneSpec("mine=/m/model.json,size=96,cut=conv_3,scaling=unit")).toEqual({
      name: "mine",
      source: "/m/model.json",
      inputSize: 96,
      cutLayer: "conv_3",
      scaling: "unit",
    });
    expect(() => resolveBackboneSpec("resnet")).toThrow(/unknown backbone "resnet"/);
    expect(() => resolveBackboneSpec("x=/m.json,colour=1")).toThrow(/unknown parameter "colour=1"/);
  });

  test("any tfjs layers model from a path, cut at a named layer and resized", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cg-bb-"));
    try {
      const input = tf.input({ shape: [64, 64, 3] });
      const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, name: "conv_a" }).apply(input) as tf.SymbolicTensor;
      const c2 = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, name: "conv_b" }).apply(c1) as tf.SymbolicTensor;
      const head = tf.layers.dense({ units: 2, name: "head" }).apply(tf.layers.flatten().apply(c2) as tf.SymbolicTensor) as tf.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: head });
      await model.save(folderIO(dir));
      model.dispose();
      const bb = await loadBackbone(`tiny=${path.join(dir, "model.json")},size=32,cut=conv_b`);
      expect(bb.outputShape).toEqual([7, 7, 6]);
      const x = tf.zeros([3, 32, 32, 3]) as tf.Tensor4D;
      const { map, pooled } = bb.embed(x);
      expect(map.shape).toEqual([3, 7, 7, 6]);
      expect(pooled.shape).toEqual([3, 6]);
      tf.dispose([x, map, pooled]);
      bb.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const shared = sharedModelsDir();
  needs({ [`MobileNet v1 in ${SHARED_PART}`]: Boolean(shared) }).test("the ImageNet MobileNet v1 in ../shared/models gives 1024-d features", async () => {
    const bb = await loadBackbone("mobilenet_v1");
    expect(bb.spec.inputSize).toBe(224);
    expect(bb.outputShape).toEqual([1024]);
    const x = tf.randomUniform([1, 224, 224, 3], 0, 255) as tf.Tensor4D;
    const { map, pooled } = bb.embed(x);
    expect(pooled.shape).toEqual([1, 1024]);
    tf.dispose([x, map, pooled]);
    bb.dispose();
  });

  test("a missing model file is a clear error", async () => {
    await expect(loadBackbone("x=/nonexistent/model.json")).rejects.toThrow(/\/nonexistent\/model.json does not exist/);
    expect(Object.keys(BACKBONES)).toEqual(["inception_v3", "mobilenet_v1"]);
  });
});
