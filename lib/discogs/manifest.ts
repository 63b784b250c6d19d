/**
 * `<out>/manifest.csv`: one row per master the crawl has decided about. It is what makes a crawl
 * resumable: rows are appended one complete line at a time as items finish, so a kill -9 loses at
 * most the items in flight; on open, a torn last line is dropped and repeated rows (a `failed`
 * master retried later) are folded to the newest, then the file is rewritten atomically.
 */
import * as fs from "node:fs";
import { writeFileAtomicSync } from "../util/fsx";

export const MANIFEST_COLUMNS = ["master_id", "main_release", "genres", "rating_count", "min_ratings", "status", "path", "error", "updated_at"] as const;

export type CrawlStatus =
  | "downloaded"
  | "below_threshold"
  | "no_rating"
  | "not_found"
  | "no_image"
  | "invalid_image"
  | "failed";

/** Statuses a re-run retries; every other status is final. */
export const RETRY_STATUSES: readonly CrawlStatus[] = ["failed"];

export interface ManifestRow {
  masterId: number;
  mainRelease: number | null;
  /** Genres in dump order. */
  genres: string[];
  ratingCount: number | null;
  /** The threshold applied to this master (0 = ratings not checked). */
  minRatings: number;
  status: CrawlStatus;
  /** Cover path relative to the output folder (POSIX), "" when none. */
  path: string;
  error: string;
  updatedAt: string;
}

/** Quote a CSV field when it needs it (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Split one CSV line (no embedded newlines) into fields. */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let v = "";
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q === -1) {
          v += line.slice(i);
          i = line.length;
          break;
        }
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(v);
      if (line[i] === ",") {
        i++;
        continue;
      }
      return out;
    }
    const c = line.indexOf(",", i);
    if (c === -1) {
      out.push(line.slice(i));
      return out;
    }
    out.push(line.slice(i, c));
    i = c + 1;
  }
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ").slice(0, 500);
}

export function formatRow(r: ManifestRow): string {
  return [
    String(r.masterId),
    r.mainRelease == null ? "" : String(r.mainRelease),
    r.genres.join("|"),
    r.ratingCount == null ? "" : String(r.ratingCount),
    String(r.minRatings),
    r.status,
    r.path,
    oneLine(r.error),
    r.updatedAt,
  ]
    .map(csvField)
    .join(",");
}

export function parseRow(line: string): ManifestRow | null {
  const f = parseCsvLine(line);
  if (f.length !== MANIFEST_COLUMNS.length) return null;
  const id = Number(f[0]);
  if (!Number.isInteger(id)) return null;
  const num = (s: string) => (s === "" ? null : Number(s));
  return {
    masterId: id,
    mainRelease: num(f[1]),
    genres: f[2] === "" ? [] : f[2].split("|"),
    ratingCount: num(f[3]),
    minRatings: Number(f[4]) || 0,
    status: f[5] as CrawlStatus,
    path: f[6],
    error: f[7],
    updatedAt: f[8],
  };
}

const HEADER = MANIFEST_COLUMNS.join(",");

export class Manifest {
  private readonly rows = new Map<number, ManifestRow>();
  private fd: number | null = null;
  /** What opening found and repaired (for the log). */
  readonly repaired: { tornLine: boolean; duplicates: number; badLines: number } = { tornLine: false, duplicates: 0, badLines: 0 };

  private constructor(readonly file: string) {}

  /** Open (or create) a manifest, repairing what a killed run may have left. */
  static open(file: string): Manifest {
    const m = new Manifest(file);
    if (fs.existsSync(file)) {
      let text = fs.readFileSync(file, "utf8");
      if (text.length && !text.endsWith("\n")) {
        text = text.slice(0, text.lastIndexOf("\n") + 1);
        m.repaired.tornLine = true;
      }
      const lines = text.split("\n").filter((l) => l !== "");
      if (lines.length && lines[0] !== HEADER) throw new Error(`${file} is not a crawl manifest (header "${lines[0].slice(0, 80)}")`);
      for (const line of lines.slice(1)) {
        const row = parseRow(line);
        if (!row) {
          m.repaired.badLines++;
          continue;
        }
        if (m.rows.has(row.masterId)) {
          m.repaired.duplicates++;
          m.rows.delete(row.masterId); // re-insert so iteration order follows the newest row
        }
        m.rows.set(row.masterId, row);
      }
      if (m.repaired.tornLine || m.repaired.duplicates || m.repaired.badLines) m.compact();
    } else {
      writeFileAtomicSync(file, HEADER + "\n");
    }
    m.fd = fs.openSync(file, "a");
    return m;
  }

  get(masterId: number): ManifestRow | undefined {
    return this.rows.get(masterId);
  }

  get size(): number {
    return this.rows.size;
  }

  all(): ManifestRow[] {
    return [...this.rows.values()];
  }

  /** Record a decision: one `write` of one complete line (a kill cannot leave half a row behind undetected). */
  append(row: ManifestRow): void {
    if (this.fd == null) throw new Error("manifest is closed");
    const replaced = this.rows.has(row.masterId);
    this.rows.delete(row.masterId);
    this.rows.set(row.masterId, row);
    fs.writeSync(this.fd, formatRow(row) + "\n");
    if (replaced) this.pendingDuplicates++;
  }

  private pendingDuplicates = 0;

  /** Rewrite the file with one row per master (atomically). */
  compact(): void {
    const body = [HEADER, ...[...this.rows.values()].map(formatRow)].join("\n") + "\n";
    const reopen = this.fd != null;
    if (this.fd != null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
    writeFileAtomicSync(this.file, body);
    this.pendingDuplicates = 0;
    if (reopen) this.fd = fs.openSync(this.file, "a");
  }

  /** Flush and close; folds rows replaced during this run so the file has no duplicates. */
  close(): void {
    if (this.pendingDuplicates) this.compact();
    if (this.fd != null) {
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }
}
