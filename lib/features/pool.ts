/**
 * A pool of extractor threads (worker_threads), each with its own wasm engine and models, so both
 * cores work: wasm runs one thread per engine in Node, so one process can only use one core.
 * `workers: 0` gives the same interface running in the calling thread. Backbones on onnxruntime-node
 * (lib/onnx/) use one intra-op thread inside a worker, since the workers already fill the cores.
 *
 * Workers run the TypeScript sources through tsx's CommonJS hook (as bin/covergenre.js does), so
 * the pool works the same from the CLI, jest and tslab notebooks.
 */
import * as path from "node:path";
import type { Worker } from "node:worker_threads";
import { startTsWorker } from "../util/tsWorker";
import type { FeatureConfig } from "./config";
import type { FeatureWorkerInput } from "./worker";
import { Extractor, type BatchResult, type WorkItem } from "./extract";
import { chooseRuntime } from "../onnx/backbone";
import { resolveBackboneSpec } from "../vision/backbone";

export interface ExtractorPool {
  size: number;
  /** Pooled dim and map shape per backbone, as the loaded models report them. */
  shapes: Record<string, { dim: number; mapShape: number[] }>;
  /** Run one batch on the least busy thread. */
  run(items: WorkItem[]): Promise<BatchResult>;
  /** Tensor count per thread after its last batch (leak checks). */
  tensorCounts(): number[];
  close(): Promise<void>;
  /** Stop at once (SIGINT): pending batches reject. */
  terminate(): Promise<void>;
}

export async function startPool(config: FeatureConfig): Promise<ExtractorPool> {
  if (config.workers <= 0) return inThreadPool(config);
  // Make and check any missing ONNX export here, once, before the workers load it (they would
  // otherwise all export the same model at once). Usually done already by the cache keys.
  for (const b of config.backbones) await chooseRuntime(resolveBackboneSpec(b));
  const slots = await Promise.all([...Array(config.workers)].map(() => startWorker(config)));
  return {
    size: slots.length,
    shapes: slots[0].shapes,
    run(items) {
      const alive = slots.filter((s) => !s.dead);
      if (!alive.length) return Promise.reject(new Error("every feature worker has stopped"));
      const slot = alive.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
      return slot.run(items);
    },
    tensorCounts: () => slots.map((s) => s.numTensors),
    async close() {
      await Promise.all(slots.map((s) => s.close()));
    },
    async terminate() {
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

async function inThreadPool(config: FeatureConfig): Promise<ExtractorPool> {
  const extractor = await Extractor.create(config);
  let count = extractor.numTensors();
  // One engine: batches must not interleave.
  let chain: Promise<unknown> = Promise.resolve();
  return {
    size: 1,
    shapes: extractor.shapes(),
    run(items) {
      const p = chain.then(() => extractor.run(items));
      chain = p.catch(() => undefined).then(() => {
        count = extractor.numTensors();
      });
      return p;
    },
    tensorCounts: () => [count],
    async close() {
      await chain;
      extractor.dispose();
    },
    async terminate() {
      // The batch in flight finishes first (its results are discarded by the caller).
      await chain;
      extractor.dispose();
    },
  };
}

interface Slot {
  worker: Worker;
  shapes: Record<string, { dim: number; mapShape: number[] }>;
  pending: Map<number, { resolve: (r: BatchResult) => void; reject: (e: Error) => void }>;
  numTensors: number;
  dead: boolean;
  run(items: WorkItem[]): Promise<BatchResult>;
  close(): Promise<void>;
}

function startWorker(config: FeatureConfig): Promise<Slot> {
  // Emscripten's wasm glue and Human are chatty on stdout: startTsWorker sends it to stderr.
  const worker = startTsWorker<FeatureWorkerInput>(path.join(__dirname, "worker.ts"), { config }, "covergenre feature worker");
  let nextId = 0;
  return new Promise((resolve, reject) => {
    const slot: Slot = {
      worker,
      shapes: {},
      pending: new Map(),
      numTensors: 0,
      dead: false,
      run(items) {
        if (slot.dead) return Promise.reject(new Error("feature worker has stopped"));
        const id = nextId++;
        return new Promise<BatchResult>((res, rej) => {
          slot.pending.set(id, { resolve: res, reject: rej });
          worker.postMessage({ type: "batch", id, items });
        });
      },
      close() {
        return new Promise<void>((res) => {
          if (slot.dead) return res();
          worker.once("exit", () => res());
          worker.postMessage({ type: "close" });
          slot.dead = true; // an exit from now on is the one we asked for
        });
      },
    };
    const fail = (err: Error) => {
      slot.dead = true;
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
      reject(err);
    };
    worker.on("message", (msg: { type: string; id?: number; result?: BatchResult; error?: string; numTensors?: number; shapes?: Slot["shapes"] }) => {
      if (msg.type === "ready") {
        slot.shapes = msg.shapes ?? {};
        slot.numTensors = msg.numTensors ?? 0;
        resolve(slot);
      } else if (msg.type === "failed") {
        fail(new Error(`feature worker could not load its models: ${msg.error}`));
      } else if (msg.type === "result" || msg.type === "error") {
        const p = slot.pending.get(msg.id!);
        slot.pending.delete(msg.id!);
        if (msg.numTensors != null) slot.numTensors = msg.numTensors;
        if (msg.type === "result") p?.resolve(msg.result!);
        else p?.reject(new Error(msg.error));
      }
    });
    worker.on("error", (err) => fail(err));
    worker.on("exit", (code) => {
      if (!slot.dead) fail(new Error(`feature worker exited (code ${code})`));
    });
  });
}
