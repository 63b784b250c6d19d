/**
 * One job at a time, in arrival order. The models share one tfjs backend and one onnxruntime
 * session per backbone, and the machine has two cores: running requests side by side would only
 * interleave them (each slower) and multiply peak memory. A bounded queue turns a burst into a wait
 * and an overload into a clear "busy" answer instead of a crash.
 */
export class QueueFullError extends Error {}

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(private readonly maxWaiting: number) {}

  /** Jobs queued or running. */
  get length(): number {
    return this.waiting;
  }

  /** Run `job` after every job queued before it; throws QueueFullError when `maxWaiting` are already queued. */
  run<T>(job: () => Promise<T>): Promise<T> {
    if (this.waiting >= this.maxWaiting) return Promise.reject(new QueueFullError(`the server is busy: ${this.waiting} requests are already queued, try again shortly`));
    this.waiting++;
    const result = this.tail.then(job);
    // The chain continues whether the job failed or not; the caller sees the failure through `result`.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    ).finally(() => this.waiting--);
    return result;
  }
}
