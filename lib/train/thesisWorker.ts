/**
 * Entry point of one thesis-head worker thread (started by runThesisFits in thesisHead.ts): its
 * own TensorFlow.js engine on the calling thread's backend, the maps and labels it was started
 * with (shared memory), and one planned fit at a time. Epoch lines go back as "log" messages so
 * the caller's log shows every thread's progress.
 */
import { parentPort } from "node:worker_threads";
import { initTf, tf, type BackendName } from "../tf";
import { tsWorkerInput } from "../util/tsWorker";
import { runThesisFit, type FromThesisWorker, type ThesisWorkerInput, type ToThesisWorker } from "./thesisHead";

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("lib/train/thesisWorker.ts must run in a worker thread");
  const input = tsWorkerInput<ThesisWorkerInput>();
  const reply = (msg: FromThesisWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
  try {
    await initTf(input.backend as BackendName);
  } catch (err) {
    reply({ type: "failed", error: (err as Error).message });
    return;
  }
  port.on("message", (msg: ToThesisWorker) => {
    if (msg.type === "close") {
      port.close();
      return;
    }
    if (msg.type !== "fit" || !msg.job) return;
    const id = msg.id;
    runThesisFit(input.data, msg.job, input.cfg, (line) => reply({ type: "log", line }))
      .then((result) => reply({ type: "result", id, result }, [result.scores.buffer as ArrayBuffer]))
      .catch((err: unknown) => reply({ type: "error", id, error: err instanceof Error ? err.message : String(err) }));
  });
  reply({ type: "ready", backend: tf.getBackend() });
}

void main();
