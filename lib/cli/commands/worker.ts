/**
 * `covergenre worker --queue <url>`: compute feature jobs from a Redis queue until stopped — the
 * other side of `covergenre features --queue` (lib/queue/). Start one per machine; each uses its
 * cores as `features` does. SIGTERM / Ctrl-C: jobs not yet started go back to the queue, covers in
 * the threads finish, exit within 30 s.
 */
import * as os from "node:os";
import type { Command } from "../framework";
import { intOpt } from "../framework";
import { queueTarget, queueTargetOptions, safeMessage } from "../../queue/cli";
import { startQueueWorker } from "../../queue/worker";
import { UserError } from "../../util/errors";
import { ensureGearForCommand } from "../../vision/models";

export const workerCommand: Command = {
  name: "worker",
  summary: "compute feature jobs from a Redis queue (the machines of a `features --queue` build)",
  usage: "covergenre worker --queue redis://host:6379 [--workers 2] [--batch-size 8]",
  options: {
    ...queueTargetOptions,
    workers: { type: "string", description: "extractor threads (each loads its own models; 0 = this thread)", defaultText: "CPU count, at most 4" },
    "batch-size": { type: "string", description: "covers per batch sent to a thread", defaultText: "8" },
    "lock-seconds": { type: "string", description: "job lock; a job whose worker died goes to another worker after about this long", defaultText: "30" },
  },
  details: [
    "The coordinator's jobs carry the feature settings; this worker loads the models they name on the first job,",
    "and refuses jobs whose cache keys differ from its own (other package versions or models) and stops.",
    "SIGTERM or Ctrl-C: hands back jobs not started, finishes those in its threads, exits 0 within 30 s.",
  ].join("\n"),
  async run(ctx) {
    const target = queueTarget(ctx);
    const v = ctx.values;
    // Race needs the GEAR model on this machine too, as on the coordinator.
    ensureGearForCommand(ctx.log, { command: "worker" });
    let handle;
    try {
      handle = await startQueueWorker({
        target,
        threads: intOpt(v, "workers", Math.min(4, Math.max(1, os.cpus().length)), 0, 16),
        batchSize: intOpt(v, "batch-size", 8, 1, 256),
        lockMs: intOpt(v, "lock-seconds", 30, 1, 3600) * 1000,
        log: ctx.log,
      });
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`worker: cannot start on ${target.display}: ${safeMessage(err)}`);
    }
    const stop = () => void handle.stop();
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    const result = await handle.closed;
    process.off("SIGTERM", stop);
    process.off("SIGINT", stop);
    ctx.log(`worker ${handle.id}: stopped after ${result.processed} cover(s)${result.handedBack ? `, ${result.handedBack} handed back` : ""}`);
    if (result.fatal) throw new UserError(result.fatal);
    return 0;
  },
};
