/**
 * `npm run bench:backend` — what the backend set-up buys, measured side by side in one process:
 * 1. a Dense-layer training step (forward + backward + Adam) on wasm with and without the
 *    BatchMatMul transpose fix, and the ratio;
 * 2. InceptionV3 `mixed7` embedding time per image at 150x150 (the study's size) and 299x299;
 * 3. each image backbone (MobileNet v1 when ../shared/models has it, InceptionV3 mixed7 at 150) on
 *    tfjs-wasm vs onnxruntime-node with 1 and 2 intra-op threads (the export made and checked
 *    first, lib/onnx/), ms/image at the feature workers' batch of 8, and the ratios.
 * 4. each face model (BlazeFace, FaceMesh, FaceRes, emotion, GEAR when cached) on tfjs-wasm vs
 *    onnxruntime-node at 1 and 2 threads, batch 1 as Human and lib/vision/faces.ts call them, through
 *    the swapped `execute()` (lib/onnx/faceModels.ts) — and the same session run directly, so the
 *    bridge's own cost (input read-back, output tensors) shows.
 * Also the same training step on the pure-JS cpu backend when COVERGENRE_BENCH_CPU=1 (slow).
 */
import { applyWasmMatMulFix, initTf, removeWasmMatMulFix, tf } from "../lib/tf";
import * as os from "node:os";
import { loadBackbone, resolveBackboneSpec, BACKBONES, type BackboneSpec } from "../lib/vision/backbone";
import { prepareExport, checkImages } from "../lib/onnx/backbone";
import { createSession } from "../lib/onnx/runtime";
import { exportPaths } from "../lib/onnx/store";
import { attachOnnx, detachOnnx, faceModelSpecs, loadGraphModel, prepareFaceExport, type FaceModelSpec } from "../lib/onnx/faceModels";
import { createSyncSession } from "../lib/onnx/runtime";
import * as fs from "node:fs";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** ms per training step of Dense(inDim→hidden, relu) → Dense(classes, sigmoid) on batch×inDim. */
async function denseStepMs(batch: number, inDim: number, hidden: number, classes: number, steps: number): Promise<number> {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [inDim], units: hidden, activation: "relu" }),
      tf.layers.dense({ units: classes, activation: "sigmoid" }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: "binaryCrossentropy" });
  const x = tf.randomNormal([batch, inDim]);
  const y = tf.randomUniform([batch, classes]).round();
  await model.trainOnBatch(x, y); // warm-up: kernel set-up, optimizer slots
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await model.trainOnBatch(x, y);
    times.push(performance.now() - t0);
  }
  tf.dispose([x, y]);
  model.dispose();
  return median(times);
}

async function embedMs(size: number, images: number): Promise<number> {
  const spec: BackboneSpec = { name: `inception_v3@${size}`, source: "nsfwjs:inception_v3", inputSize: size, cutLayer: "mixed7", scaling: "unit" };
  const bb = await loadBackbone(spec);
  const x = tf.randomUniform([1, size, size, 3], 0, 255) as tf.Tensor4D;
  const warm = bb.embed(x);
  await warm.pooled.data();
  tf.dispose([warm.map, warm.pooled]);
  const times: number[] = [];
  for (let i = 0; i < images; i++) {
    const t0 = performance.now();
    const { map, pooled } = bb.embed(x);
    await pooled.data();
    tf.dispose([map, pooled]);
    times.push(performance.now() - t0);
  }
  x.dispose();
  bb.dispose();
  return median(times);
}

/** ms/image of one backbone: tfjs (this process's backend) and onnxruntime-node at each thread count. */
async function runtimeMs(name: string, threads: number[], batch: number, rounds: number): Promise<{ tfjs: number; onnx: Record<number, number>; maxDiff: number }> {
  const spec = resolveBackboneSpec(name);
  const { id, record } = await prepareExport(spec);
  if (!record.ok) throw new Error(`${name}: no usable ONNX export: ${record.error}`);
  const size = spec.inputSize;
  // Batch of real-looking check images (gradient, noise, blocks), repeated to the batch size.
  const { pixels: three } = checkImages(size);
  const per = size * size * 3;
  const ints = new Int32Array(batch * per);
  for (let i = 0; i < batch; i++) ints.set(three.subarray((i % 3) * per, (i % 3 + 1) * per), i * per);
  const floats = Float32Array.from(ints);

  const bb = await loadBackbone(spec);
  const x = tf.tensor4d(ints, [batch, size, size, 3], "int32");
  const tfjsOnce = async () => {
    const { map, pooled } = bb.embed(x);
    const d = await pooled.data();
    tf.dispose([map, pooled]);
    return d as Float32Array;
  };
  const ref = await tfjsOnce();
  const tfjsTimes: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await tfjsOnce();
    tfjsTimes.push((performance.now() - t0) / batch);
  }
  x.dispose();
  bb.dispose();

  const onnx: Record<number, number> = {};
  let maxDiff = 0;
  for (const t of threads) {
    const session = await createSession(exportPaths(id).onnx, t);
    const out = await session.run(floats, [batch, size, size, 3], ["pooled"]); // warm-up
    for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - out.pooled[i]));
    const times: number[] = [];
    for (let r = 0; r < rounds * 3; r++) {
      const t0 = performance.now();
      await session.run(floats, [batch, size, size, 3], ["pooled"]);
      times.push((performance.now() - t0) / batch);
    }
    await session.release();
    onnx[t] = median(times);
  }
  return { tfjs: median(tfjsTimes), onnx, maxDiff };
}

/** Median ms of `fn` over `rounds` calls after one warm-up call. */
function timeSync(fn: () => void, rounds: number): number {
  fn();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** ms per call of one face model: tfjs execute(), the swapped execute() and its bare session, per thread count. */
async function faceModelMs(spec: FaceModelSpec, threads: number[], rounds: number): Promise<{ tfjs: number; onnx: Record<number, number>; bridge: Record<number, number> }> {
  const choice = await prepareFaceExport(spec);
  if (!choice.record.ok) throw new Error(`${spec.name}: no usable ONNX export: ${choice.record.error}`);
  const model = await loadGraphModel(spec.modelJson);
  const shape = (model.inputs[0].shape ?? []).map((d, i) => (i === 0 ? 1 : d));
  const x = tf.randomUniform(shape, spec.inputRange[0], spec.inputRange[1], "float32", 1);
  const once = () => {
    const out = model.execute(x);
    for (const t of Array.isArray(out) ? out : [out]) {
      t.dataSync();
      t.dispose();
    }
  };
  const tfjs = timeSync(once, rounds);
  const onnx: Record<number, number> = {};
  const bridge: Record<number, number> = {};
  const bytes = fs.readFileSync(exportPaths(choice.id).onnx);
  const data = x.dataSync() as Float32Array;
  for (const t of threads) {
    attachOnnx(model, spec.name, { runtime: "onnx", reason: "bench", ...choice }, t);
    const session = createSyncSession(bytes, t);
    const runBare = () => session.run(data, shape, choice.record.onnxOutputs!);
    once();
    runBare();
    // Interleaved pairs: the bridge's cost is the median of (execute() − bare run) over pairs that saw the same load.
    const exec: number[] = [];
    const pairs: number[] = [];
    for (let r = 0; r < rounds * 3; r++) {
      let t0 = performance.now();
      once();
      const e = performance.now() - t0;
      t0 = performance.now();
      runBare();
      exec.push(e);
      pairs.push(e - (performance.now() - t0));
    }
    onnx[t] = median(exec);
    bridge[t] = median(pairs);
    session.release();
    detachOnnx(model);
  }
  x.dispose();
  model.dispose();
  return { tfjs, onnx, bridge };
}

async function main(): Promise<void> {
  const status = await initTf("wasm");
  console.log(`backend ${status.backend}, SIMD ${status.simd}, tfjs ${status.tfjsVersion}, node ${process.version}`);
  // The study's head size on pooled features and on the thesis Flatten input (scaled down to stay quick).
  const shapes: Array<[number, number, number, number]> = [
    [32, 2048, 1024, 7],
    [32, 768, 1024, 7],
  ];
  console.log("\n1) Dense training step (trainOnBatch: forward + backward + Adam), median ms");
  console.log("   batch x in -> hidden -> out   | wasm, no fix | wasm + fix | speed-up");
  const ratios: number[] = [];
  for (const [batch, inDim, hidden, classes] of shapes) {
    removeWasmMatMulFix();
    const slow = await denseStepMs(batch, inDim, hidden, classes, 5);
    applyWasmMatMulFix();
    const fast = await denseStepMs(batch, inDim, hidden, classes, 5);
    ratios.push(slow / fast);
    console.log(
      `   ${`${batch} x ${inDim} -> ${hidden} -> ${classes}`.padEnd(30)}| ${slow.toFixed(1).padStart(12)} | ${fast.toFixed(1).padStart(10)} | ${(slow / fast).toFixed(1)}x`,
    );
  }
  if (process.env.COVERGENRE_BENCH_CPU === "1") {
    await tf.setBackend("cpu");
    const cpu = await denseStepMs(32, 768, 1024, 7, 3);
    await tf.setBackend("wasm");
    const wasm = await denseStepMs(32, 768, 1024, 7, 3);
    console.log(`   cpu backend, 32 x 768 -> 1024 -> 7: ${cpu.toFixed(1)} ms (${(cpu / wasm).toFixed(1)}x slower than wasm + fix)`);
  }

  console.log("\n2) InceptionV3 mixed7 embedding, batch 1, median ms/image");
  const at150 = await embedMs(150, 10);
  const at299 = await embedMs(299, 5);
  console.log(`   150x150 (the study's size): ${at150.toFixed(0)} ms/image`);
  console.log(`   299x299 (Inception's native): ${at299.toFixed(0)} ms/image (${(at299 / at150).toFixed(1)}x the 150 cost)`);

  console.log(`\n3) image backbones: tfjs-${status.backend} vs onnxruntime-node (1 and 2 intra-op threads), batch 8, median ms/image`);
  console.log(`   load average now ${os.loadavg().map((l) => l.toFixed(1)).join(" ")} on ${os.cpus().length} CPUs (other jobs share these cores)`);
  console.log("   backbone                 | tfjs-wasm | onnx 1 thr | onnx 2 thr | speed-up 1 thr | 2 thr | max |diff|");
  const names = [...(BACKBONES.mobilenet_v1() ? ["mobilenet_v1"] : []), "inception_v3"];
  const summary: string[] = [];
  for (const name of names) {
    const r = await runtimeMs(name, [1, 2], 8, 4);
    const label = name === "inception_v3" ? "inception_v3 mixed7 @150" : `${name} @224`;
    console.log(
      `   ${label.padEnd(25)}| ${r.tfjs.toFixed(1).padStart(9)} | ${r.onnx[1].toFixed(1).padStart(10)} | ${r.onnx[2].toFixed(1).padStart(10)} | ${(r.tfjs / r.onnx[1]).toFixed(1).padStart(13)}x | ${(r.tfjs / r.onnx[2]).toFixed(1).padStart(4)}x | ${r.maxDiff.toExponential(1)}`,
    );
    summary.push(`${name} ${r.tfjs.toFixed(0)} → ${r.onnx[1].toFixed(1)} / ${r.onnx[2].toFixed(1)} ms (${(r.tfjs / r.onnx[1]).toFixed(1)}x / ${(r.tfjs / r.onnx[2]).toFixed(1)}x)`);
  }

  console.log(`\n4) face models: tfjs-${status.backend} vs onnxruntime-node (1 and 2 threads), batch 1, median ms/call incl. reading the outputs`);
  console.log(`   load average now ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  console.log("   model       | tfjs-wasm | onnx 1 thr | onnx 2 thr | speed-up 1 thr | 2 thr | bridge cost 1 / 2 thr (median of execute() − bare session.run, interleaved)");
  const faceSummary: string[] = [];
  for (const spec of faceModelSpecs()) {
    const r = await faceModelMs(spec, [1, 2], 10);
    console.log(
      `   ${spec.name.padEnd(12)}| ${r.tfjs.toFixed(1).padStart(9)} | ${r.onnx[1].toFixed(1).padStart(10)} | ${r.onnx[2].toFixed(1).padStart(10)} | ${(r.tfjs / r.onnx[1]).toFixed(1).padStart(13)}x | ${(r.tfjs / r.onnx[2]).toFixed(1).padStart(4)}x | ${r.bridge[1].toFixed(2)} / ${r.bridge[2].toFixed(2)} ms`,
    );
    faceSummary.push(`${spec.name} ${r.tfjs.toFixed(0)} → ${r.onnx[1].toFixed(1)} / ${r.onnx[2].toFixed(1)} ms`);
  }

  console.log(`\nsummary: matmul fix speed-up ${ratios.map((r) => r.toFixed(1) + "x").join(", ")} (goal >= 5x); mixed7 ${at150.toFixed(0)} ms @150, ${at299.toFixed(0)} ms @299`);
  console.log(`summary: tfjs-wasm → onnxruntime-node 1 / 2 threads: ${summary.join("; ")}`);
  console.log(`summary: face models, tfjs-wasm → onnxruntime-node 1 / 2 threads: ${faceSummary.join("; ")}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
