/**
 * `npm run bench:backend` — what the backend set-up buys, measured side by side in one process:
 * 1. a Dense-layer training step (forward + backward + Adam) on wasm with and without the
 *    BatchMatMul transpose fix, and the ratio;
 * 2. InceptionV3 `mixed7` embedding time per image at 150x150 (the study's size) and 299x299.
 * Also the same training step on the pure-JS cpu backend when COVERGENRE_BENCH_CPU=1 (slow).
 */
import { applyWasmMatMulFix, initTf, removeWasmMatMulFix, tf } from "../lib/tf";
import { loadBackbone, type BackboneSpec } from "../lib/vision/backbone";

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

  console.log(`\nsummary: matmul fix speed-up ${ratios.map((r) => r.toFixed(1) + "x").join(", ")} (goal >= 5x); mixed7 ${at150.toFixed(0)} ms @150, ${at299.toFixed(0)} ms @299`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
