/**
 * Number and table formatting for the report. One place, so every number on the page reads the same
 * way (3 decimals, intervals as "[lo, hi]", a real minus sign) and HTML escaping is never forgotten.
 */
import type { Estimate, Interval } from "../train/results";
import { escapeHtml } from "../plot";

export { escapeHtml };

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
