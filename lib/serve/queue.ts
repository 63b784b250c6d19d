/**
 * One job at a time, in arrival order. The models share one tfjs backend and one onnxruntime
 * session per backbone, and the machine has two cores: running requests side by side would only
 * interleave them (each slower) and multiply peak memory. A bounded queue turns a burst into a wait
 * and an overload into a clear "busy" answer instead of a crash.
 *
 * The ordering and the one-at-a-time rule are p-limit's (concurrency 1); this adds only the bound.
 */
import pLimit from "p-limit";

export class QueueFullError extends Error {}

export class SerialQueue {
  private readonly limit = pLimit(1);

  constructor(private readonly maxWaiting: number) {}

  /** Jobs queued or running. */
  get length(): number {
    return this.limit.activeCount + this.limit.pendingCount;
  }

  /** Run `job` after every job queued before it; throws QueueFullError when `maxWaiting` are already queued. */
  run<T>(job: () => Promise<T>): Promise<T> {
    if (this.length >= this.maxWaiting) return Promise.reject(new QueueFullError(`the server is busy: ${this.length} requests are already queued, try again shortly`));
    return this.limit(job);
  }
}
