/**
 * Progress for long jobs: a redrawn bar on a TTY, and a plain line every `intervalMs` otherwise
 * (CI logs, nbconvert), so a user always sees done/total, rate and ETA.
 */
export interface ProgressOptions {
  /** What is being counted, e.g. "covers". */
  unit?: string;
  /** Where to write; stderr by default so that `--json` stdout stays machine-readable. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Minimum time between non-TTY lines. */
  intervalMs?: number;
  /** Force the non-TTY format (tests). */
  plain?: boolean;
  /** Clock (tests). */
  now?: () => number;
  /**
   * Total work, when items differ in cost (e.g. an MLP fold ≈ 5x a logistic one): the ETA and the
   * bar then follow the work done, passed to {@link Progress.tick}, not the item count.
   */
  work?: number;
}

export class Progress {
  private done = 0;
  private workDone = 0;
  private readonly counts = new Map<string, number>();
  private readonly started: number;
  private lastDraw = -Infinity;
  private lastDrawnDone = -1;
  private readonly stream: NonNullable<ProgressOptions["stream"]>;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(
    private readonly label: string,
    private total: number | null,
    private readonly options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.tty = !options.plain && Boolean(this.stream.isTTY);
    this.intervalMs = options.intervalMs ?? (this.tty ? 100 : 10_000);
    this.now = options.now ?? Date.now;
    this.started = this.now();
  }

  setTotal(total: number | null): void {
    this.total = total;
  }

  /** Count `n` finished items, optionally under a status (e.g. "downloaded", "failed"), worth `work` (default `n`). */
  tick(status?: string, n = 1, work = n): void {
    this.done += n;
    this.workDone += work;
    if (status) this.counts.set(status, (this.counts.get(status) ?? 0) + n);
    const t = this.now();
    if (t - this.lastDraw >= this.intervalMs) {
      this.lastDraw = t;
      this.draw(false);
    }
  }

  /** Write the final line (on a plain stream, unless the last line already said the same). */
  finish(): void {
    if (!this.tty && this.lastDrawnDone === this.done) return;
    this.draw(true);
  }

  get count(): number {
    return this.done;
  }

  /** The current status line (without bar), e.g. "features 120/3763 3.1/s ETA 19m40s [ok 118, failed 2]". */
  line(): string {
    const elapsed = Math.max(1e-3, (this.now() - this.started) / 1000);
    const rate = this.done / elapsed;
    const unit = this.options.unit ? ` ${this.options.unit}` : "";
    const of = this.total != null ? `/${this.total}` : "";
    const frac = this.fraction();
    const eta = this.total != null && frac > 0 && this.done < this.total ? ` ETA ${formatDuration((elapsed * (1 - frac)) / frac)}` : ` in ${formatDuration(elapsed)}`;
    const counts = this.counts.size
      ? ` [${[...this.counts].map(([k, v]) => `${k} ${v}`).join(", ")}]`
      : "";
    // Slow items (a model fit, minutes each) read better as time per item than as 0.00/s.
    const speed = rate > 0 && rate < 0.05 ? `${formatDuration(1 / rate)} each` : `${rate.toFixed(rate < 10 ? 2 : 0)}/s`;
    return `${this.label} ${this.done}${of}${unit} ${speed}${eta}${counts}`;
  }

  /** Share done (0..1): of the work when `work` was given, else of the items; 0 without a total. */
  private fraction(): number {
    if (this.options.work) return Math.min(1, this.workDone / this.options.work);
    return this.total ? Math.min(1, this.done / this.total) : 0;
  }

  private draw(final: boolean): void {
    this.lastDrawnDone = this.done;
    const text = this.line();
    if (this.tty) {
      const width = 24;
      const filled = Math.round(this.fraction() * width);
      const bar = this.total ? `[${"#".repeat(filled)}${".".repeat(width - filled)}] ` : "";
      this.stream.write(`\r\x1b[2K${bar}${text}${final ? "\n" : ""}`);
    } else {
      this.stream.write(`${text}\n`);
    }
  }
}

/** "1h02m", "3m05s", "12s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}
