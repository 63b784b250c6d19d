/**
 * Streaming reader for `discogs_*_masters.xml[.gz]`: yields one {@link DumpMaster} at a time with
 * memory independent of the file size (the study parsed the whole multi-GB file into a DOM).
 *
 * Records are split on the raw bytes (`<master ` … `</master>`) so every record and every error
 * carries its exact byte offset, and only one record at a time is decoded to a string.
 * A broken record is reported through `onError` and skipped (the next `<master ` starts over); a
 * truncated or corrupt gzip stream ends the iteration with a {@link DumpError} after everything
 * before the damage has been delivered.
 */
import * as fs from "node:fs";
import * as zlib from "node:zlib";
import { DumpRecordError, parseMasterRecord, type DumpMaster } from "./record";

export { DumpRecordError, type DumpMaster } from "./record";

/** A problem with the dump as a whole (missing file, damaged compression). */
export class DumpError extends Error {
  constructor(
    message: string,
    /** Uncompressed byte offset reached when the problem occurred. */
    readonly offset: number,
    /** Id of the last master read completely before the problem, if any. */
    readonly lastMasterId: number | null,
  ) {
    super(message);
    this.name = "DumpError";
  }
}

export interface ReadDumpOptions {
  /**
   * Called for each record that cannot be parsed; the stream goes on. Default: collect silently
   * (the caller can read them from {@link DumpReader.errors}).
   */
  onError?: (err: DumpRecordError) => void;
  /** Stop early (e.g. SIGINT): the iteration ends without an error. */
  signal?: AbortSignal;
  /** Read size; larger chunks mean fewer boundary copies. */
  chunkBytes?: number;
}

const OPEN = Buffer.from("<master");
const CLOSE = Buffer.from("</master>");
const GZIP_MAGIC = [0x1f, 0x8b];

/** Whether a file starts with the gzip magic bytes (the extension is not trusted). */
export function isGzipFile(file: string): boolean {
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(2);
    const n = fs.readSync(fd, head, 0, 2, 0);
    return n === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether `buf[at]` after "<master" ends the tag name (so `<masters>` is not a record). */
function isRecordStart(buf: Buffer, at: number): boolean {
  const c = buf[at + OPEN.length];
  return c === 0x20 || c === 0x3e || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x2f;
}

function findRecordStart(buf: Buffer, from: number): number {
  let i = from;
  for (;;) {
    i = buf.indexOf(OPEN, i);
    if (i === -1) return -1;
    if (i + OPEN.length >= buf.length) return i; // cannot tell yet: keep it for the next chunk
    if (isRecordStart(buf, i)) return i;
    i += OPEN.length;
  }
}

/**
 * A streaming pass over a masters dump. Iterate it with `for await`; afterwards `errors`,
 * `bytesRead` (uncompressed) and `compressedBytes` describe the pass.
 */
export class DumpReader implements AsyncIterable<DumpMaster> {
  readonly errors: DumpRecordError[] = [];
  bytesRead = 0;
  compressedBytes = 0;
  readonly gzip: boolean;

  constructor(
    readonly file: string,
    private readonly options: ReadDumpOptions = {},
  ) {
    if (!fs.existsSync(file)) throw new DumpError(`dump file ${file} does not exist`, 0, null);
    this.gzip = isGzipFile(file);
  }

  private recordError(err: DumpRecordError): void {
    this.errors.push(err);
    this.options.onError?.(err);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<DumpMaster> {
    for await (const batch of this.batches()) for (const m of batch) yield m;
  }

  /**
   * The masters of each decompressed chunk as one array (hundreds per chunk). Use this for
   * throughput: an async iterator costs a promise per item, a batch costs one per chunk.
   */
  async *batches(): AsyncGenerator<DumpMaster[]> {
    const chunkBytes = this.options.chunkBytes ?? 1 << 20;
    const raw = fs.createReadStream(this.file, { highWaterMark: chunkBytes });
    const source: NodeJS.ReadableStream = this.gzip ? raw.pipe(zlib.createGunzip({ chunkSize: 256 * 1024 })) : raw;
    if (this.gzip) raw.on("error", (e) => (source as zlib.Gunzip).destroy(e));

    let pending: Buffer = Buffer.alloc(0);
    let pendingOffset = 0; // stream offset of pending[0]
    let lastId: number | null = null;
    const signal = this.options.signal;
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        if (signal?.aborted) return;
        const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        let pos = 0;
        const batch: DumpMaster[] = [];
        for (;;) {
          const start = findRecordStart(buf, pos);
          if (start === -1) {
            // keep a possible partial "<master" at the end
            pos = Math.max(pos, buf.length - OPEN.length);
            break;
          }
          if (start + OPEN.length >= buf.length) {
            pos = start;
            break;
          }
          const end = buf.indexOf(CLOSE, start + OPEN.length);
          if (end === -1) {
            pos = start;
            break;
          }
          const stop = end + CLOSE.length;
          // Another record start before this one's end means this one is broken: report it and
          // resynchronise on the next start.
          const inner = findRecordStart(buf.subarray(start + OPEN.length, end), 0);
          const next = inner === -1 ? -1 : start + OPEN.length + inner;
          if (next !== -1) {
            const text = buf.toString("utf8", start, Math.min(next, start + 200));
            this.recordError(brokenRecord(text, pendingOffset + start, "a new <master> starts before this one ends"));
            pos = next;
            continue;
          }
          const offset = pendingOffset + start;
          try {
            const m = parseMasterRecord(buf.toString("utf8", start, stop), offset);
            lastId = m.id;
            batch.push(m);
          } catch (err) {
            if (err instanceof DumpRecordError) this.recordError(err);
            else throw err;
          }
          pos = stop;
        }
        pending = buf.subarray(pos);
        pendingOffset += pos;
        this.bytesRead = pendingOffset + pending.length;
        if (batch.length) yield batch;
        if (signal?.aborted) return;
      }
    } catch (err) {
      this.compressedBytes = raw.bytesRead;
      const e = err as NodeJS.ErrnoException;
      const at = pendingOffset + pending.length;
      const after = lastId != null ? ` after master ${lastId}` : " before the first complete master";
      if (e.code === "Z_BUF_ERROR" || /unexpected end of file/i.test(e.message)) {
        throw new DumpError(
          `${this.file}: the gzip stream ends early (compressed byte ${this.compressedBytes}, uncompressed byte ${at}${after}): the file is truncated — download it again`,
          at,
          lastId,
        );
      }
      if (e.code && e.code.startsWith("Z_")) {
        throw new DumpError(`${this.file}: corrupt gzip data near compressed byte ${this.compressedBytes} (uncompressed byte ${at}${after}): ${e.message}`, at, lastId);
      }
      throw new DumpError(`${this.file}: cannot read at uncompressed byte ${at}${after}: ${e.message}`, at, lastId);
    } finally {
      this.compressedBytes = raw.bytesRead;
      raw.destroy();
      if (source !== raw) (source as zlib.Gunzip).destroy();
    }
    // Whatever is left is an unfinished record (truncated plain file) or the closing root tag.
    const rest = findRecordStart(pending, 0);
    if (rest !== -1) {
      const text = pending.toString("utf8", rest, Math.min(pending.length, rest + 200));
      this.recordError(brokenRecord(text, pendingOffset + rest, "the file ends inside this record (truncated?)"));
    }
  }
}

function brokenRecord(head: string, offset: number, why: string): DumpRecordError {
  const m = /^<master[^>]*\bid\s*=\s*["'](\d+)["']/.exec(head);
  const id = m ? Number(m[1]) : null;
  return new DumpRecordError(`${id != null ? `master ${id}` : "record"} (byte ${offset}): ${why}`, offset, id);
}

/** Stream the masters of a dump file (`.xml` or `.xml.gz`, detected from the bytes). */
export function readMasters(file: string, options: ReadDumpOptions = {}): DumpReader {
  return new DumpReader(file, options);
}
