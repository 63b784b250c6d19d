/**
 * Progress for long jobs: a redrawn bar on a TTY, and a plain line every `intervalMs` otherwise
 * (CI logs), so a user always sees done/total, rate and ETA.
 *
 * Inside a notebook (a tslab kernel, or after {@link setNotebookProgress}) and unless a `stream` is
 * given, progress is one display that is replaced in place (Jupyter's update_display_data: the
 * executed notebook keeps the last state), or, where the front end cannot replace a display, a
 * handful of lines on stdout: the first, one per ~10 % and the last. Never stderr there: a notebook
 * shows every stderr write as a warning block.
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

/** A display that can be replaced in place (in a notebook: one output updated by display id). */
export interface LiveLine {
  /** Replace what the display shows: the status line and the share done (null without a total). */
  set(text: string, fraction: number | null, final: boolean): void;
}

/** Where progress goes inside a notebook. */
export interface NotebookProgressSink {
  /** A new replaceable display for one Progress, or null when the front end cannot replace displays. */
  live(): LiveLine | null;
  /** Writes one line of the handful-of-lines fallback (stdout in a notebook). */
  write(line: string): void;
}

const NOTEBOOK_KEY = "__covergenreNotebookProgress__";

/**
 * Choose where progress goes in a notebook: a sink (tests, or a front end of your own), `null` for
 * the CLI behaviour even inside a kernel, `undefined` for auto-detection (a tslab kernel → its
 * replaceable displays, else the CLI behaviour). Kept on globalThis, so every copy of this module
 * in a kernel session agrees.
 */
export function setNotebookProgress(sink: NotebookProgressSink | null | undefined): void {
  const g = globalThis as Record<string, unknown>;
  if (sink === undefined) delete g[NOTEBOOK_KEY];
  else g[NOTEBOOK_KEY] = sink;
}

/** The notebook sink in force, or null outside a notebook. */
export function notebookProgressSink(): NotebookProgressSink | null {
  const g = globalThis as Record<string, unknown>;
  if (NOTEBOOK_KEY in g) return g[NOTEBOOK_KEY] as NotebookProgressSink | null;
  return g.__tslab__ ? TSLAB_SINK : null;
}

function escapeText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The line as HTML: a <progress> bar (when the total is known) and the text, monospace. */
export function progressHtml(text: string, fraction: number | null): string {
  const bar = fraction === null ? "" : `<progress value="${fraction.toFixed(3)}" max="1" style="width:14em;vertical-align:middle;margin-right:8px"></progress>`;
  return `<div class="cg-progress" style="font-family:monospace;font-size:12px">${bar}${escapeText(text)}</div>`;
}

/** tslab: `newDisplay()` gives a display whose later writes replace the first (same display id). */
const TSLAB_SINK: NotebookProgressSink = {
  live(): LiveLine | null {
    let display: { html(s: string): void } | null = null;
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const tslab = require("tslab") as { newDisplay?: () => { html(s: string): void } };
      display = typeof tslab.newDisplay === "function" ? tslab.newDisplay() : null;
    } catch {
      display = null;
    }
    if (!display) return null;
    const d = display;
    return { set: (text, fraction) => d.html(progressHtml(text, fraction)) };
  },
  write: (line) => {
    process.stdout.write(`${line}\n`);
  },
};

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
  /** Notebook mode: the sink, the live display once created (null: lines), and the last tenth written. */
  private readonly notebook: NotebookProgressSink | null;
  private liveLine: LiveLine | null | undefined;
  private lastDecile = -1;

  constructor(
    private readonly label: string,
    private total: number | null,
    private readonly options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.notebook = options.stream === undefined && !options.plain ? notebookProgressSink() : null;
    this.tty = !this.notebook && !options.plain && Boolean(this.stream.isTTY);
    this.intervalMs = options.intervalMs ?? (this.notebook ? 1000 : this.tty ? 100 : 10_000);
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
    if (this.notebook && this.notebookLines()) {
      // A handful of lines: the first, then one each time another tenth is done (without a total,
      // one per minute at most).
      const decile = this.total ? Math.floor(this.fraction() * 10) : -1;
      const due = this.lastDrawnDone < 0 || (this.total ? decile > this.lastDecile : t - this.lastDraw >= Math.max(this.intervalMs, 60_000));
      if (due) {
        this.lastDraw = t;
        this.draw(false);
      }
      return;
    }
    if (t - this.lastDraw >= this.intervalMs) {
      this.lastDraw = t;
      this.draw(false);
    }
  }

  /** Write the final line (on a plain stream, unless the last line already said the same). */
  finish(): void {
    if (this.notebook) {
      // A live display always shows its final state (the rate and time of the whole run).
      if (this.notebookLines() && this.lastDrawnDone === this.done) return;
      this.draw(true);
      return;
    }
    if (!this.tty && this.lastDrawnDone === this.done) return;
    this.draw(true);
  }

  /** In a notebook: whether this Progress writes lines (the front end cannot replace a display). */
  private notebookLines(): boolean {
    if (this.liveLine === undefined) this.liveLine = this.notebook!.live();
    return this.liveLine === null;
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
    if (this.notebook) {
      this.lastDecile = this.total ? Math.floor(this.fraction() * 10) : -1;
      if (this.notebookLines()) this.notebook.write(text);
      else this.liveLine!.set(text, this.total ? this.fraction() : null, final);
      return;
    }
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
