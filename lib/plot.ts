/**
 * Plotly figures and pictures for notebooks (tslab) and for self-contained HTML reports.
 *
 * Why HTML and not the plotly MIME type: `application/vnd.plotly.v1+json` renders nothing in
 * Jupyter Notebook 6 or nbconvert HTML, while `text/html` with plotly.min.js inlined renders in
 * both (and survives in the saved notebook). Outside a kernel (jest, CLI) the show* functions print
 * a one-line note instead of throwing, so lib code can call them unconditionally.
 *
 * Must compile under tslab's TypeScript 5.0 (non-strict) as well as the project's strict 5.9.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { packageDir } from "./util/packages";

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

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return String(s)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

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

/** What show* needs from tslab; an interface so tests can inject a recorder. */
export interface DisplaySink {
  html(s: string): void;
  png(b: Uint8Array): void;
  jpeg(b: Uint8Array): void;
}

let sinkOverride: DisplaySink | null | undefined;

/**
 * Replace the display target (tests) or restore auto-detection (`undefined`). `null` forces the
 * "no kernel" text fallback.
 */
export function setDisplaySink(sink: DisplaySink | null | undefined): void {
  sinkOverride = sink;
}

/**
 * tslab's `display`, or null outside a kernel. tslab sets `globalThis.__tslab__` before running
 * cells and hooks `require("tslab")` inside cells and the lib files they import; checking first
 * keeps CLI/jest from loading tslab (and its bundled TypeScript) for nothing.
 */
function currentSink(): DisplaySink | null {
  if (sinkOverride !== undefined) return sinkOverride;
  if (!(globalThis as { __tslab__?: unknown }).__tslab__) return null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require("tslab").display as DisplaySink;
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
 * Show a plotly figure inline in tslab. The first call in a kernel session also inlines
 * plotly.min.js (4.8 MB, once) so the saved notebook and nbconvert HTML render offline.
 */
export function showFigure(fig: Figure, opts: FigureHtmlOptions = {}): void {
  const sink = currentSink();
  if (!sink) {
    note(`[plot] figure not shown (no notebook kernel): ${describeFigure(fig)}`);
    return;
  }
  let html = figureHtml(fig, opts);
  if (!plotlyLoadedInSession()) {
    html = plotlyScript() + "\n" + html;
    (globalThis as Record<string, unknown>)[LOADED_KEY] = true;
  }
  sink.html(html);
}

/** Show raw HTML (tables, cover grids) in tslab; a text note elsewhere. */
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
