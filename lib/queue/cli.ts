/**
 * The queue's part of the CLI: the `--queue*` options `features` gains, and the run that reports
 * the queue's figures beside the usual summary. Kept here so lib/cli/commands/features.ts only
 * branches on `--queue`.
 */
import type { CommandContext, OptionSpec } from "../cli/framework";
import { intOpt, stringOpt } from "../cli/framework";
import type { BuildOptions } from "../features/build";
import { UserError } from "../util/errors";
import { redactSecrets } from "../util/secrets";
import { parseQueueUrl, redactUrlText, type QueueTarget } from "./connection";
import { buildFeatureTableViaQueue, type QueueBuildSummary } from "./coordinator";

/** Options shared by `features --queue` and `worker`. */
export const queueTargetOptions: Record<string, OptionSpec> = {
  queue: { type: "string", description: "Redis URL redis://[:password@]host:port[/db] of the feature queue shared by `features --queue` and `covergenre worker`s (the password is better in $COVERGENRE_REDIS_PASSWORD)" },
  "queue-name": { type: "string", description: "name of the queue (one coordinator per name at a time)", defaultText: "covergenre" },
};

export const queueOptions: Record<string, OptionSpec> = {
  ...queueTargetOptions,
  "queue-jobs": { type: "string", description: "with --queue: most jobs (covers) in Redis at once", defaultText: "64" },
  "queue-mb": { type: "string", description: "with --queue: most image data in Redis at once, MB", defaultText: "64" },
  "queue-attempts": { type: "string", description: "with --queue: attempts per cover before it counts as failed (retries back off exponentially)", defaultText: "4" },
};

/** The Redis target of `--queue` / `--queue-name`; the password is a registered secret from here on. */
export function queueTarget(ctx: CommandContext): QueueTarget {
  const url = stringOpt(ctx.values, "queue");
  if (!url) throw new UserError("--queue: give the Redis URL, e.g. redis://10.0.0.5:6379");
  return parseQueueUrl(url, { name: stringOpt(ctx.values, "queue-name") });
}

/** Anything from Redis or BullMQ, with any URL password removed (errors can quote connection strings). */
export function safeMessage(err: unknown): string {
  return redactSecrets(redactUrlText(err instanceof Error ? err.message : String(err)));
}

/** `features --queue`: the coordinated build, its queue figures logged. */
export async function runQueuedBuild(ctx: CommandContext, opts: BuildOptions): Promise<QueueBuildSummary> {
  const target = queueTarget(ctx);
  const v = ctx.values;
  let summary: QueueBuildSummary;
  try {
    summary = await buildFeatureTableViaQueue(opts, {
      target,
      maxJobs: intOpt(v, "queue-jobs", 64, 1, 100_000),
      maxBytes: intOpt(v, "queue-mb", 64, 1, 100_000) * 1024 * 1024,
      attempts: intOpt(v, "queue-attempts", 4, 1, 100),
    });
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`features --queue ${target.display}: ${safeMessage(err)}`);
  }
  const q = summary.queue;
  const workers = Object.entries(q.perWorker).map(([w, n]) => `${w} ${n}`).join(", ");
  ctx.log(`features: queue ${q.name}: ${q.enqueued} job(s) added, ${q.found} found from an earlier run${workers ? `; covers per worker: ${workers}` : ""}${q.failedJobs.length ? `; ${q.failedJobs.length} failed for good` : ""}`);
  return summary;
}
