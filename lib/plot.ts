/**
 * Plotly figures, pictures and tables for notebooks (tslab) and for self-contained HTML reports.
 *
 * A figure goes out as one MIME bundle with both `application/vnd.plotly.v1+json` (rendered
 * natively by JupyterLab's plotly renderer and VS Code notebooks, trusted or not) and `text/html`
 * with plotly.min.js inlined (what Jupyter Notebook 6 and nbconvert HTML render; the plotly type
 * renders nothing there). Each front end picks the richest type it knows. Tables go out as HTML
 * built by the report's own table code (lib/report/format.ts), so a notebook and the report never
 * disagree. Outside a kernel (jest, CLI) the show* functions print a one-line note instead of
 * throwing, so lib code can call them unconditionally.
 *
 * Must compile under tslab's TypeScript 5.0 (non-strict) as well as the project's strict 5.9.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { packageDir } from "./util/packages";
import { dataFrameTableHtml, escapeHtml, isFrameLike, notebookHtml, recordsTableHtml, type DataTableOptions } from "./report/format";

/** A plotly figure as plain data: the same object `Plotly.newPlot(div, data, layout, config)` takes. */
export interface Figure {
  data: object[];
  layout?: object;
  config?: object;
}

/** Options for {@link figureHtml}. */
export interface FigureHtmlOptions {
  /** DOM id of the figure's <div>; default a random `cg-fig-…` id (unique per call). */
  id?: string;
  /** Height in pixels; default the layout's height, else 420. */
  height?: number;
}

const DEFAULT_HEIGHT = 420;

/**
 * Serialise a value for embedding inside an inline <script>: JSON is not safe there as-is
 * ("</script>" in a label would end the script; U+2028/9 break older parsers).
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value ?? null)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Escape text for HTML element content and attribute values (defined with the report's formatting). */
export { escapeHtml };

/**
 * A `<div>` + `<script>` that draws `fig` with `Plotly.newPlot`. Plotly must already be loaded on
 * the page (see {@link plotlyScript}); if it is not, the div says so instead of staying blank, which
 * is what happens in a notebook whose first plot cell (the one carrying plotly.min.js) was cleared.
 */
export function figureHtml(fig: Figure, opts: FigureHtmlOptions = {}): string {
  if (!fig || !Array.isArray(fig.data)) throw new Error("figureHtml: figure.data must be an array of traces");
  const id = opts.id ?? `cg-fig-${randomBytes(6).toString("hex")}`;
  if (!/^[A-Za-z][\w-]*$/.test(id)) throw new Error(`figureHtml: invalid element id "${id}"`);
  const layoutIn = (fig.layout ?? {}) as { height?: unknown };
  const height =
    opts.height ?? (typeof layoutIn.height === "number" && layoutIn.height > 0 ? layoutIn.height : DEFAULT_HEIGHT);
  const layout = { ...(fig.layout ?? {}), height };
  const config = { responsive: true, displaylogo: false, ...(fig.config ?? {}) };
  return (
    `<div id="${id}" class="cg-figure" style="width:100%;min-height:${height}px"></div>\n` +
    `<script>(function(){var el=document.getElementById(${scriptJson(id)});` +
    `if(typeof window.Plotly==="undefined"){el.textContent="(Plotly is not loaded on this page: re-run the first plotting cell)";return;}` +
    `window.Plotly.newPlot(el,${scriptJson(fig.data)},${scriptJson(layout)},${scriptJson(config)});})();</script>`
  );
}

let plotlySource: string | null = null;

/** The plotly.min.js source shipped in plotly.js-dist-min (read once, ~4.8 MB). */
export function plotlyJs(): string {
  if (plotlySource === null) {
    const file = path.join(packageDir("plotly.js-dist-min"), "plotly.min.js");
    plotlySource = fs.readFileSync(file, "utf8");
  }
  return plotlySource;
}

/**
 * `<script>` tags that inline plotly.min.js, for self-contained pages. `window.define` is hidden
 * while it loads because require.js in the classic notebook would otherwise capture the UMD
 * bundle as an anonymous module and never set `window.Plotly`.
 */
export function plotlyScript(): string {
  const js = plotlyJs().replace(/<\/script/gi, "<\\/script");
  return (
    `<script>window.__cgDefine=window.define;window.define=undefined;</script>\n` +
    `<script>${js}</script>\n` +
    `<script>window.define=window.__cgDefine;try{delete window.__cgDefine;}catch(e){window.__cgDefine=undefined;}</script>`
  );
}

/** A MIME bundle: MIME type → data (strings; JSON types as objects), as a Jupyter display_data carries it. */
export type MimeBundle = Record<string, unknown>;

/** The MIME type JupyterLab's and VS Code's plotly renderers read: `{ data, layout, config }`. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** What show* needs from tslab; an interface so tests can inject a recorder. */
export interface DisplaySink {
  html(s: string): void;
  png(b: Uint8Array): void;
  jpeg(b: Uint8Array): void;
  /** Several MIME types in one display (the front end picks one); absent when the kernel cannot. */
  bundle?(data: MimeBundle): void;
}

let sinkOverride: DisplaySink | null | undefined;

/**
 * Replace the display target (tests) or restore auto-detection (`undefined`). `null` forces the
 * "no kernel" text fallback.
 */
export function setDisplaySink(sink: DisplaySink | null | undefined): void {
  sinkOverride = sink;
}

/** Whether code runs inside a tslab kernel (tslab sets `globalThis.__tslab__` before running cells). */
export function inTslab(): boolean {
  return Boolean((globalThis as { __tslab__?: unknown }).__tslab__);
}

type TslabDisplay = DisplaySink & { raw?(type: string, data: string | Uint8Array): void };
type TslabJupyter = { lastWriteDisplayData?: ((msg: { data: MimeBundle; metadata: object; transient: object }, update: boolean) => void) | null };

/**
 * A multi-type display through tslab. tslab's public `display.raw(type, data)` sends one MIME type
 * per display; its kernel module keeps the current cell's `display_data` writer as
 * `lastWriteDisplayData`, which takes a whole bundle. That is the writer `display.raw` itself calls,
 * read at call time (it is replaced for every cell). Null when this tslab has no such writer; the
 * caller then sends the HTML alone.
 */
function tslabBundle(): ((data: MimeBundle) => void) | null {
  let jupyter: TslabJupyter;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    jupyter = require("tslab/dist/jupyter") as TslabJupyter;
  } catch {
    return null;
  }
  if (!jupyter || !("lastWriteDisplayData" in jupyter)) return null;
  return (data: MimeBundle) => {
    const write = jupyter.lastWriteDisplayData;
    if (typeof write !== "function") throw new Error("tslab is not ready to display (no cell is running)");
    write({ data: data, metadata: {}, transient: {} }, false);
  };
}

/**
 * tslab's `display`, or null outside a kernel. tslab sets `globalThis.__tslab__` before running
 * cells and hooks `require("tslab")` inside cells and the lib files they import; checking first
 * keeps CLI/jest from loading tslab (and its bundled TypeScript) for nothing.
 */
function currentSink(): DisplaySink | null {
  if (sinkOverride !== undefined) return sinkOverride;
  if (!inTslab()) return null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const display = require("tslab").display as TslabDisplay;
    const bundle = tslabBundle();
    return {
      html: (s) => display.html(s),
      png: (b) => display.png(b),
      jpeg: (b) => display.jpeg(b),
      ...(bundle ? { bundle: bundle } : {}),
    };
  } catch {
    return null;
  }
}

/** Per-kernel flag kept on globalThis, so re-importing this module in a session does not inline plotly again. */
const LOADED_KEY = "__covergenrePlotlyLoaded__";

/** Whether plotly.min.js has already been sent to the current kernel's output. */
export function plotlyLoadedInSession(): boolean {
  return Boolean((globalThis as Record<string, unknown>)[LOADED_KEY]);
}

/** Forget that plotly was sent (tests, or after clearing all outputs). */
export function resetPlotlySession(): void {
  delete (globalThis as Record<string, unknown>)[LOADED_KEY];
}

function note(s: string): void {
  // stdout: a cell's or a script's visible output; keeps CLI `--json` commands from calling show*.
  process.stdout.write(`${s}\n`);
}

/** Summary of a figure for the text fallback: trace count and title. */
function describeFigure(fig: Figure): string {
  const layout = (fig.layout ?? {}) as { title?: unknown };
  const t = layout.title;
  const title = typeof t === "string" ? t : t && typeof t === "object" && "text" in t ? String((t as { text: unknown }).text) : "";
  return `${fig.data.length} trace(s)${title ? `, "${title}"` : ""}`;
}

/**
 * The MIME bundle of a figure: `application/vnd.plotly.v1+json` (`{ data, layout, config }`, the
 * layout with its height, for JupyterLab and VS Code), `text/html` ({@link figureHtml}, plus
 * `prefixHtml` — plotly.min.js for the first figure of a session — for Notebook 6 and nbconvert)
 * and `text/plain` (what the figure is, for consoles and text exports).
 */
export function figureBundle(fig: Figure, opts: FigureHtmlOptions & { prefixHtml?: string } = {}): MimeBundle {
  const html = figureHtml(fig, opts);
  const layoutIn = (fig.layout ?? {}) as { height?: unknown };
  const height =
    opts.height ?? (typeof layoutIn.height === "number" && layoutIn.height > 0 ? layoutIn.height : DEFAULT_HEIGHT);
  // JSON round trip: the kernel sends JSON anyway, and it drops what JSON cannot carry (undefined,
  // functions) the same way the HTML's scriptJson does, so both parts hold the same figure.
  const plotly = JSON.parse(
    JSON.stringify({ data: fig.data, layout: { ...(fig.layout ?? {}), height: height }, config: { responsive: true, displaylogo: false, ...(fig.config ?? {}) } }),
  ) as object;
  return {
    [PLOTLY_MIME]: plotly,
    "text/html": (opts.prefixHtml ? opts.prefixHtml + "\n" : "") + html,
    "text/plain": `<plotly figure: ${describeFigure(fig)}>`,
  };
}

/**
 * Show a plotly figure inline in tslab, as the bundle of {@link figureBundle}. The first call in a
 * kernel session also inlines plotly.min.js (4.8 MB, once) in the HTML part so the saved notebook
 * and nbconvert HTML render offline.
 */
export function showFigure(fig: Figure, opts: FigureHtmlOptions = {}): void {
  const sink = currentSink();
  if (!sink) {
    note(`[plot] figure not shown (no notebook kernel): ${describeFigure(fig)}`);
    return;
  }
  const first = !plotlyLoadedInSession();
  const bundle = figureBundle(fig, { ...opts, prefixHtml: first ? plotlyScript() : undefined });
  if (sink.bundle) sink.bundle(bundle);
  else sink.html(bundle["text/html"] as string);
  if (first) (globalThis as Record<string, unknown>)[LOADED_KEY] = true;
}

/** Show raw HTML (cover grids, report fragments as they are) in tslab; a text note elsewhere. */
export function showHtml(html: string): void {
  const sink = currentSink();
  if (!sink) {
    note(`[plot] HTML not shown (no notebook kernel): ${html.length} characters`);
    return;
  }
  sink.html(html);
}

/** The image type of a PNG/JPEG buffer from its magic bytes, or null. */
export function sniffImageMime(buf: Uint8Array): "image/png" | "image/jpeg" | null {
  if (buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47) return "image/png";
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return "image/jpeg";
  return null;
}

/**
 * Show a rendered PNG or JPEG (e.g. a cover with its faces drawn by sharp). The type is taken
 * from the bytes when not given; anything else is refused with a clear error.
 */
export function showImage(buf: Buffer | Uint8Array, mime?: "image/png" | "image/jpeg"): void {
  const kind = mime ?? sniffImageMime(buf);
  if (kind !== "image/png" && kind !== "image/jpeg") {
    throw new Error("showImage: the buffer is neither PNG nor JPEG (pass a sharp(...).png() / .jpeg() buffer)");
  }
  const sink = currentSink();
  if (!sink) {
    note(`[plot] image not shown (no notebook kernel): ${kind}, ${buf.length} bytes`);
    return;
  }
  if (kind === "image/png") sink.png(buf);
  else sink.jpeg(buf);
}

/** Options of {@link show}: for HTML, `caption` becomes a heading above it; the rest apply to data tables. */
export type ShowOptions = DataTableOptions;

/**
 * What {@link show} renders: a danfo DataFrame or Series, an array of records (objects), one record
 * (as key/value rows), or a string of HTML (the report's table builders return those).
 */
export type Showable = string | object;

/** The HTML {@link show} displays for `x` (exported for tests and for pages). */
export function showableHtml(x: Showable, opts: ShowOptions = {}): string {
  if (typeof x === "string") return notebookHtml((opts.caption ? `<h4>${escapeHtml(opts.caption)}</h4>` : "") + x);
  if (isFrameLike(x)) return notebookHtml(dataFrameTableHtml(x, opts));
  if (Array.isArray(x)) {
    const bad = x.findIndex((r) => !r || typeof r !== "object" || Array.isArray(r));
    if (bad >= 0) throw new Error(`show: item ${bad} of the array is not a record (an object); show takes DataFrames, records or HTML`);
    return notebookHtml(recordsTableHtml(x as Record<string, unknown>[], opts));
  }
  if (x && typeof x === "object") {
    const rows = Object.entries(x as Record<string, unknown>).map(([key, value]) => ({ key: key, value: value }));
    return notebookHtml(recordsTableHtml(rows, { caption: "", ...opts }));
  }
  throw new Error(`show: cannot show a ${x === null ? "null" : typeof x}; show takes a danfo DataFrame or Series, records, one record, or HTML`);
}

/**
 * The one way a notebook shows a table: a danfo DataFrame or Series (every column, numbers
 * formatted, NaN as –), an array of records, one record, or the HTML of a report table builder
 * (`metricsTableHtml`, `transferHtml`, …: intervals as `0.439 [0.425, 0.453]`, the best row marked,
 * baselines in grey). Rendered as an HTML table with the report's look; a text note outside a kernel.
 */
export function show(x: Showable, opts: ShowOptions = {}): void {
  const html = showableHtml(x, opts);
  const sink = currentSink();
  if (!sink) {
    const what = typeof x === "string" ? `${x.length} characters of HTML` : isFrameLike(x) ? `a table of ${x.shape.join(" × ")}` : Array.isArray(x) ? `${x.length} record(s)` : "a record";
    note(`[plot] table not shown (no notebook kernel): ${what}`);
    return;
  }
  sink.html(html);
}
