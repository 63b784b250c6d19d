/**
 * Entry point of one fold worker thread (started by lib/train/pool.ts): its own TensorFlow.js engine
 * on the calling thread's backend, the datasets it was sent (shared memory), and one fold at a time
 * — the message handler is synchronous, so jobs never interleave on the engine. Every tensor a fold
 * creates is disposed by the heads (the reply carries the engine's tensor count so the pool and the
 * tests can check it stays flat).
 */
import { parentPort } from "node:worker_threads";
import { initTf, tf, type BackendName } from "../tf";
import { tsWorkerInput } from "../util/tsWorker";
import { runFold, scorerFromSpec } from "./cv";
import type { LabelledDataset } from "./dataset";
import { datasetFromShared, type FoldWorkerInput, type FromFoldWorker, type ToFoldWorker } from "./pool";

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("lib/train/foldWorker.ts must run in a worker thread");
  const input = tsWorkerInput<FoldWorkerInput>();
  const reply = (msg: FromFoldWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
  try {
    await initTf(input.backend as BackendName);
  } catch (err) {
    reply({ type: "failed", error: (err as Error).message });
    return;
  }
  const datasets = new Map<number, LabelledDataset>();
  port.on("message", (msg: ToFoldWorker) => {
    if (msg.type === "dataset" && msg.dataset) {
      datasets.set(msg.dataset.id, datasetFromShared(msg.dataset));
    } else if (msg.type === "forget" && msg.datasetId != null) {
      datasets.delete(msg.datasetId);
    } else if (msg.type === "close") {
      datasets.clear();
      port.close();
    } else if (msg.type === "fold" && msg.job) {
      const job = msg.job;
      try {
        const ds = datasets.get(job.dataset);
        if (!ds) throw new Error(`fold worker ${input.index + 1} was never sent dataset ${job.dataset}`);
        const outcome = runFold(ds, job.fold, scorerFromSpec(job.spec), job.opts);
        const scores = outcome.scores;
        const own = scores.byteOffset === 0 && scores.byteLength === scores.buffer.byteLength;
        const sent = own ? scores : scores.slice();
        reply(
          { type: "result", id: job.id, metrics: outcome.metrics, thresholds: outcome.thresholds, scores: sent, numTensors: tf.memory().numTensors },
          [sent.buffer as ArrayBuffer],
        );
      } catch (err) {
        reply({ type: "error", id: job.id, error: err instanceof Error ? err.message : String(err), numTensors: tf.memory().numTensors });
      }
    }
  });
  reply({ type: "ready", backend: tf.getBackend(), numTensors: tf.memory().numTensors });
}

void main();
