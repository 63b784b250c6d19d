/**
 * Entry point of one feature worker thread: its own TensorFlow.js wasm engine and models, fed
 * batches by `pool.ts`. Messages are handled one at a time (one wasm engine cannot run two
 * batches at once); the reply carries plain typed arrays, transferred rather than copied.
 */
import { parentPort } from "node:worker_threads";
import { tsWorkerInput } from "../util/tsWorker";
import { Extractor, type WorkItem } from "./extract";
import type { FeatureConfig } from "./config";

/** What lib/features/pool.ts starts each worker with. */
export interface FeatureWorkerInput {
  config: FeatureConfig;
}

type Request = { type: "batch"; id: number; items: WorkItem[] } | { type: "close" };

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("lib/features/worker.ts must run in a worker thread");
  const { config } = tsWorkerInput<FeatureWorkerInput>();
  let extractor: Extractor;
  try {
    extractor = await Extractor.create(config);
  } catch (err) {
    port.postMessage({ type: "failed", error: (err as Error).message });
    return;
  }
  port.postMessage({ type: "ready", shapes: extractor.shapes(), numTensors: extractor.numTensors() });
  let chain = Promise.resolve();
  port.on("message", (msg: Request) => {
    chain = chain.then(async () => {
      if (msg.type === "close") {
        extractor.dispose();
        port.close();
        return;
      }
      try {
        const result = await extractor.run(msg.items);
        const transfer: ArrayBuffer[] = [];
        for (const item of result.items) {
          for (const e of Object.values(item.emb)) if (e.ok) transfer.push(e.value.pooled.buffer as ArrayBuffer, e.value.map.buffer as ArrayBuffer);
        }
        port.postMessage({ type: "result", id: msg.id, result, numTensors: extractor.numTensors() }, [...new Set(transfer)]);
      } catch (err) {
        port.postMessage({ type: "error", id: msg.id, error: (err as Error).message });
      }
    });
  });
}

void main();
