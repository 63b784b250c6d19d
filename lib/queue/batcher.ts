/**
 * Groups single-cover queue jobs into batches for the extractor threads (lib/features/pool.ts), as
 * the local run sends them: up to `batchSize` covers per message, at most two batches per thread in
 * flight. Jobs that arrive while the threads are busy wait here, not in the threads, so on shutdown
 * they can be handed back to the queue untouched.
 */
import type { ExtractorPool } from "../features/pool";
import type { ItemResult, WorkItem } from "../features/extract";

/** A job that never reached a thread because the worker is stopping (hand it back to the queue). */
export class HandedBack extends Error {
  constructor() {
    super("handed back: the worker is stopping");
    this.name = "HandedBack";
  }
}

export interface BatchedResult {
  item: ItemResult;
  /** This cover's share of its batch's thread time per stage. */
  ms: Record<string, number>;
}

interface Waiting {
  item: WorkItem;
  resolve: (r: BatchedResult) => void;
  reject: (e: Error) => void;
}

export class Batcher {
  private readonly waiting: Waiting[] = [];
  private running = 0;
  private batches = 0;
  private scheduled = false;

  constructor(
    private readonly pool: ExtractorPool,
    private readonly batchSize: number,
  ) {}

  /** Compute one cover; resolves with its outputs, rejects if its batch failed or it was handed back. */
  run(item: WorkItem): Promise<BatchedResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      // Jobs fetched in the same tick form one batch rather than several batches of one.
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  /** Reject every cover not yet sent to a thread with {@link HandedBack}; returns how many. */
  handBack(): number {
    const n = this.waiting.length;
    for (const w of this.waiting.splice(0)) w.reject(new HandedBack());
    return n;
  }

  /** Covers in the threads or waiting for them. */
  get busy(): number {
    return this.running + this.waiting.length;
  }

  private pump(): void {
    while (this.batches < this.pool.size * 2 && this.waiting.length) {
      const batch = this.waiting.splice(0, this.batchSize);
      this.running += batch.length;
      this.batches++;
      this.pool.run(batch.map((w) => w.item)).then(
        (result) => {
          const share: Record<string, number> = {};
          for (const [k, v] of Object.entries(result.ms)) share[k] = v / batch.length;
          batch.forEach((w, i) => w.resolve({ item: result.items[i], ms: share }));
        },
        (err: Error) => batch.forEach((w) => w.reject(err)),
      ).finally(() => {
        this.running -= batch.length;
        this.batches--;
        this.pump();
      });
    }
  }
}
