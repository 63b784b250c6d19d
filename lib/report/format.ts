/**
 * Number and table formatting for the report. One place, so every number on the page reads the same
 * way (3 decimals, intervals as "[lo, hi]", a real minus sign) and HTML escaping is never forgotten.
 */
import type { Estimate, ExamplePrediction, Interval } from "../train/results";

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return String(s)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** A metric value with 3 decimals; "–" for null/NaN (e.g. AUC of a genre with one class). */
export function num(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  return x.toFixed(digits).replace(/^-/, "−");
}

/** A signed difference, e.g. "+0.004" / "−0.012". */
export function signed(x: number | null | undefined, digits = 3): string {
  if (typeof x !== "number" || !Number.isFinite(x)) return "–";
  return (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(digits);
}

export function interval(ci: Interval | null | undefined, digits = 3, sign = false): string {
  if (!ci) return "";
  const f = sign ? (v: number) => signed(v, digits) : (v: number) => num(v, digits);
  return `[${f(ci[0])}, ${f(ci[1])}]`;
}

/** "0.420 [0.405, 0.435]" as HTML, the interval in a muted span. */
export function estimateHtml(e: Estimate | null | undefined, digits = 3): string {
  if (!e) return "–";
  return `${num(e.mean, digits)} <span class="ci">${escapeHtml(interval(e.ci, digits))}</span>`;
}

/**
 * A paired difference with its interval as HTML, signs always shown ("+0.004 [−0.010, +0.018]"):
 * a difference reads by its sign, and an interval that straddles 0 shows it at a glance.
 */
export function deltaHtml(delta: number | null | undefined, ci: Interval | null | undefined, digits = 3): string {
  return `${signed(delta, digits)} <span class="ci">${escapeHtml(interval(ci, digits, true))}</span>`;
}

/** A share as a percentage, e.g. 0.123 → "12.3 %"; "–" for null/NaN. */
export function percent(x: number | null | undefined, digits = 1): string {
  if (typeof x !== "number" || !Number.isFinite(x)) return "–";
  return `${(x * 100).toFixed(digits)} %`;
}

/** A p value the way papers print it. */
export function pValue(p: number | null | undefined): string {
  if (typeof p !== "number" || !Number.isFinite(p)) return "–";
  if (p < 0.001) return "< 0.001";
  return p.toFixed(3);
}

/** Thousands separators for counts. */
export function count(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export interface Column<Row> {
  header: string;
  /** Cell HTML (already escaped by the caller where it holds text). */
  cell: (row: Row) => string;
  /** Tooltip for the header. */
  title?: string;
  className?: string;
}

/** A plain HTML table. Rows with `rowClass` get that class (baseline rows are styled apart). */
export function tableHtml<Row>(rows: Row[], columns: Column<Row>[], opts: { rowClass?: (row: Row) => string; caption?: string } = {}): string {
  const head = columns
    .map((c) => `<th${c.title ? ` title="${escapeHtml(c.title)}"` : ""}${c.className ? ` class="${c.className}"` : ""}>${escapeHtml(c.header)}</th>`)
    .join("");
  const body = rows
    .map((r) => {
      const cls = opts.rowClass?.(r);
      const tds = columns.map((c) => `<td${c.className ? ` class="${c.className}"` : ""}>${c.cell(r)}</td>`).join("");
      return `<tr${cls ? ` class="${cls}"` : ""}>${tds}</tr>`;
    })
    .join("\n");
  const caption = opts.caption ? `<caption>${escapeHtml(opts.caption)}</caption>` : "";
  return `<table>${caption}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/**
 * The row to mark as best: the highest `score` among rows that may win (baselines never do), only
 * when at least two rows compete (a lone model is not "best" of anything). Ties: the first.
 */
export function bestRow<Row>(rows: Row[], score: (row: Row) => number | null | undefined, eligible: (row: Row) => boolean = () => true): Row | null {
  let best: Row | null = null;
  let bestScore = -Infinity;
  let competing = 0;
  for (const r of rows) {
    if (!eligible(r)) continue;
    const s = score(r);
    if (typeof s !== "number" || !Number.isFinite(s)) continue;
    competing++;
    if (s > bestScore) {
      best = r;
      bestScore = s;
    }
  }
  return competing >= 2 ? best : null;
}

/** The mark beside the best row's name (visible without any style sheet, e.g. in a plain-text export). */
export const BEST_MARK = ` <span class="best-mark" title="highest mean micro-F1 of the models in this table">★</span>`;

// ---------------------------------------------------------------------------------------------
// Tables of data (danfo DataFrames, arrays of records) for notebooks, in the report's number style.

/** Options of {@link dataTableHtml}. */
export interface DataTableOptions {
  /** Rows shown at most (the rest are counted in the caption); default 50. */
  maxRows?: number;
  /** Decimals of non-integer numbers; default 3. */
  digits?: number;
  /** Caption above the table; default "N rows × M columns". */
  caption?: string;
  /** Show the row index as the first column; default true for DataFrames, false for records. */
  index?: boolean;
}

/**
 * One cell of a data table: integers as they are (ids must not get thousands separators),
 * other numbers with `digits` decimals (so a float32 0.0700000002980 reads 0.070), NaN as "–",
 * null/undefined as empty, arrays joined with ", ", objects as compact JSON, text escaped.
 */
export function dataCellHtml(v: unknown, digits = 3): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return `<span class="base">–</span>`;
    if (Number.isInteger(v)) return String(v).replace(/^-/, "−");
    return num(v, digits);
  }
  if (typeof v === "boolean") return v ? "true" : "false";
  if (Array.isArray(v)) return v.map((x) => (typeof x === "object" && x !== null ? escapeHtml(JSON.stringify(x)) : dataCellHtml(x, digits))).join(", ");
  if (v instanceof Date) return escapeHtml(v.toISOString());
  if (typeof v === "object") {
    return escapeHtml(
      JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isInteger(x) && Number.isFinite(x) ? Number(x.toFixed(digits)) : x)),
    );
  }
  return escapeHtml(String(v));
}

/**
 * A table of plain data: `columns` and row-major `values` (what a danfo DataFrame holds), every
 * column shown (never elided), numbers formatted by {@link dataCellHtml}, numeric columns
 * right-aligned. Long tables show their first `maxRows` rows and say how many more there are.
 */
export function dataTableHtml(columns: string[], values: unknown[][], opts: DataTableOptions & { rowIndex?: unknown[] } = {}): string {
  const maxRows = opts.maxRows ?? 50;
  const digits = opts.digits ?? 3;
  const shown = values.slice(0, maxRows);
  const numeric = columns.map((_, j) => shown.length > 0 && shown.every((row) => row[j] === null || row[j] === undefined || typeof row[j] === "number"));
  const withIndex = Boolean(opts.index && opts.rowIndex);
  const head = (withIndex ? "<th></th>" : "") + columns.map((c, j) => `<th${numeric[j] ? ' class="num"' : ""}>${escapeHtml(c)}</th>`).join("");
  const body = shown
    .map((row, i) => {
      const idx = withIndex ? `<th class="idx">${dataCellHtml(opts.rowIndex![i], digits)}</th>` : "";
      return `<tr>${idx}${columns.map((_, j) => `<td${numeric[j] ? ' class="num"' : ""}>${dataCellHtml(row[j], digits)}</td>`).join("")}</tr>`;
    })
    .join("\n");
  const more = values.length > shown.length ? `, first ${shown.length} shown` : "";
  const caption = opts.caption ?? `${count(values.length)} row${values.length === 1 ? "" : "s"} × ${columns.length} column${columns.length === 1 ? "" : "s"}${more}`;
  return `<table><caption>${escapeHtml(caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Records (objects) as a table: columns are the union of their keys, in first-seen order. */
export function recordsTableHtml(records: Record<string, unknown>[], opts: DataTableOptions = {}): string {
  const columns: string[] = [];
  for (const r of records) for (const k of Object.keys(r ?? {})) if (!columns.includes(k)) columns.push(k);
  const values = records.map((r) => columns.map((k) => (r ?? {})[k]));
  return dataTableHtml(columns, values, { ...opts, index: opts.index ?? false, rowIndex: records.map((_, i) => i) });
}

/** What {@link dataFrameTableHtml} reads of a danfo DataFrame or Series (no danfo import needed). */
export interface FrameLike {
  columns: string[];
  values: unknown[];
  index: unknown[];
  shape: number[];
}

/** Whether `x` looks like a danfo DataFrame or Series. */
export function isFrameLike(x: unknown): x is FrameLike {
  const f = x as Partial<FrameLike> | null;
  return Boolean(f && typeof f === "object" && Array.isArray(f.columns) && Array.isArray(f.values) && Array.isArray(f.index) && Array.isArray(f.shape));
}

/** A danfo DataFrame (or Series: one column) as a table, every column shown, with its index. */
export function dataFrameTableHtml(df: FrameLike, opts: DataTableOptions = {}): string {
  const rows2d = df.values.length && !Array.isArray(df.values[0]) ? (df.values as unknown[]).map((v) => [v]) : (df.values as unknown[][]);
  const columns = df.columns.length ? df.columns.map(String) : ["value"];
  return dataTableHtml(columns, rows2d, { ...opts, index: opts.index ?? true, rowIndex: df.index });
}

/** Out-of-fold example predictions: collection, cover, true and predicted genres (hits and misses marked). */
export function examplesTableHtml(examples: ExamplePrediction[]): string {
  type Row = ExamplePrediction;
  const predicted = (e: Row) => {
    const truth = new Set(e.trueGenres);
    return e.predictedGenres.length ? e.predictedGenres.map((g) => (truth.has(g) ? escapeHtml(g) : `<s title="predicted, not a true genre">${escapeHtml(g)}</s>`)).join(", ") : "—";
  };
  return tableHtml(examples, [
    { header: "collection", cell: (e) => escapeHtml(e.collection ?? "") },
    { header: "cover", cell: (e) => escapeHtml(e.masterId) },
    { header: "true genres", cell: (e) => e.trueGenres.map(escapeHtml).join(", ") },
    { header: "predicted (out-of-fold)", cell: predicted },
    { header: "top score", cell: (e) => { const t = Object.entries(e.scores).sort((a, b) => b[1] - a[1])[0]; return t ? `${escapeHtml(t[0])} ${num(t[1], 2)}` : "–"; } },
  ]);
}

// ---------------------------------------------------------------------------------------------
// The report's table look, carried into a notebook cell.

/** Inline styles for the report's row and span classes (kept by front ends that drop <style> from outputs). */
const INLINE: [RegExp, string][] = [
  [/<tr class="baseline">/g, `<tr class="baseline" style="color:#666;background-color:#f4f4f4;font-style:italic">`],
  [/<tr class="best">/g, `<tr class="best" style="font-weight:600">`],
  [/<tr class="study">/g, `<tr class="study" style="background-color:#fffbe6">`],
  [/<span class="(ci|base)">/g, `<span class="$1" style="color:#777;white-space:nowrap">`],
  [/<span class="best-mark" /g, `<span class="best-mark" style="color:#d62728" `],
];

/** Table style for notebook outputs, scoped to `.cg-nb` so it never touches the front end's own UI. */
export const NOTEBOOK_TABLE_CSS = `
.cg-nb{overflow-x:auto;max-width:100%}
.cg-nb table{border-collapse:collapse;margin:6px 0 12px;font-size:12.5px;width:auto}
.cg-nb caption{caption-side:top;text-align:left;color:#555;padding:2px 0 4px;font-size:12px}
.cg-nb table th,.cg-nb table td{border:none;border-bottom:1px solid #e5e5e5;padding:3px 8px;text-align:left;vertical-align:top}
.cg-nb table th{background-color:#fafafa;font-weight:600}
.cg-nb table th.idx{color:#888;font-weight:normal;background-color:transparent}
.cg-nb table .num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.cg-nb h4{margin:10px 0 4px}
.cg-nb p{margin:4px 0 8px;max-width:70em}
`;

/**
 * Report HTML (tables and the sentences around them) made to read the same in a notebook cell as on
 * the report page: wrapped in a scoped style, with the grey baseline rows, the bold best row and the
 * muted intervals also as inline styles, so they survive front ends that drop <style> from outputs.
 */
export function notebookHtml(fragment: string): string {
  let html = fragment;
  for (const [re, to] of INLINE) html = html.replace(re, to);
  return `<div class="cg-nb"><style>${NOTEBOOK_TABLE_CSS}</style>${html}</div>`;
}
