/**
 * `covergenre serve`: one page and a small JSON API over a loaded {@link CoverModel}, on Node's own
 * http (no framework: four routes do not need one). Every request that touches the models goes
 * through one {@link SerialQueue}; every failure becomes a 4xx/5xx JSON `{"error"}` answer, so a
 * bad upload never takes the server down. Binds to 127.0.0.1 unless told otherwise.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import sharp from "sharp";
import { plotlyJs } from "../plot";
import { tf } from "../tf";
import { CoverModel, InputError, type CoverAnalysis } from "../explain/coverModel";
import type { GalleryItem } from "../explain/gallery";
import { dominantEmotion } from "../vision/faces";
import { QueueFullError, SerialQueue } from "./queue";

export interface ServeOptions {
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  /** Largest accepted request body in bytes (default 15 MB: a 6000 × 6000 JPEG still fits). */
  maxBytes?: number;
  /** Requests that may wait for the models before new ones get 503 (default 64). */
  maxQueued?: number;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  server: http.Server;
  queue: SerialQueue;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BYTES = 15 * 1024 * 1024;

/** An answer with a status: thrown inside a handler, sent as `{"error"}`. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const PAGE_FILE = path.join(__dirname, "page.html");

/** The predict answer as the API documents it (faces with a named dominant emotion, neighbours with thumbnail URLs). */
export function predictBody(model: CoverModel, a: CoverAnalysis, ms: number): Record<string, unknown> {
  const body: Record<string, unknown> = {
    scores: a.scores,
    genres: a.genres,
    thresholds: Object.fromEntries(model.genres.map((g, j) => [g, Number(model.ckpt.meta.thresholds[j].toFixed(4))])),
    faces: a.faces.map((f) => ({
      box: f.box.map((v) => Math.round(v)),
      score: Number(f.score.toFixed(3)),
      age: f.age === null ? null : Math.round(f.age),
      gender: f.gender,
      genderScore: f.genderScore === null ? null : Number(f.genderScore.toFixed(3)),
      emotion: dominantEmotion(f.emotion),
      emotions: f.emotion,
      race: f.race,
      raceScore: f.raceScore === null ? null : Number(f.raceScore.toFixed(3)),
    })),
    neighbours: a.neighbours.map((n) => ({ id: n.id, collection: n.collection, genres: n.genres, similarity: n.similarity, thumb: `/api/thumb/n/${n.row}` })),
    width: a.width,
    height: a.height,
    ms: Math.round(ms),
  };
  if (a.neighboursMissing) body.neighboursMissing = a.neighboursMissing;
  if (a.occlusion) body.occlusion = a.occlusion[0];
  return body;
}

/** `GET /api/health`: the model, its genres and thresholds, and which optional parts are there (or why not). */
export function healthBody(model: CoverModel, queued: number): Record<string, unknown> {
  const meta = model.ckpt.meta;
  return {
    ok: true,
    model: model.ckpt.dir,
    inputSet: meta.inputSet,
    head: meta.head.name,
    genres: meta.genres,
    thresholds: Object.fromEntries(meta.genres.map((g, j) => [g, Number(meta.thresholds[j].toFixed(4))])),
    trainedOn: meta.trainedOn,
    cv: meta.cv ? { microF1: meta.cv.microF1.mean, macroF1: meta.cv.macroF1.mean, rocAucMacro: meta.cv.rocAucMacro.mean } : null,
    runtimes: model.runtimes(),
    neighbours: model.neighbours ? model.neighbours.size : null,
    neighboursMissing: model.neighboursMissing,
    gallery: model.gallery !== null,
    galleryMissing: model.galleryMissing,
    queued,
    // Live tensors of the shared tfjs engine: flat over requests when every tensor is disposed (bench:serve reads it).
    tensors: tf.memory().numTensors,
  };
}

/** `GET /api/gallery`: per genre, typical covers and confident mistakes with thumbnail URLs; or why there is none. */
export function galleryBody(model: CoverModel): Record<string, unknown> {
  if (!model.gallery) return { available: false, missing: model.galleryMissing };
  const item = (g: GalleryItem) => ({ id: g.id, collection: g.collection, genres: g.genres, predicted: g.predicted, score: g.score, thumb: `/api/thumb/g/${g.row}` });
  return { available: true, genres: model.gallery.map((g) => ({ genre: g.genre, typical: g.typical.map(item), mistakes: g.mistakes.map(item) })) };
}

/** Read a body up to `max` bytes; over it → 413 (the rest is drained, not kept, so the answer still reaches the client). */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  return new Promise((resolve, reject) => {
    const tooLarge = () => new HttpError(413, `the image is too large: the limit is ${(max / 1024 / 1024).toFixed(1)} MB per request`);
    if (Number.isFinite(declared) && declared > max) {
      req.resume();
      req.on("end", () => reject(tooLarge()));
      req.on("error", () => reject(tooLarge()));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      if (!over) chunks.push(c);
      // A chunked upload far past the limit is not drained forever: the connection is cut instead.
      if (size > 4 * max) req.destroy();
    });
    req.on("end", () => (over ? reject(tooLarge()) : resolve(Buffer.concat(chunks))));
    req.on("error", (err) => reject(new HttpError(400, `the upload failed: ${err.message}`)));
  });
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
  res.end(body);
}

/** Which genre `?explain=` asks for ("top": the highest score); null when none. */
function explainGenre(param: string | null, genres: string[]): string[] | undefined {
  if (param === null || param === "") return undefined;
  if (param === "top") return ["top"];
  if (!genres.includes(param)) throw new HttpError(400, `explain=${param} is not one of the model's genres (${genres.join(", ")}) or "top"`);
  return [param];
}

/** Start serving `model`; resolves once the port is bound. */
export async function startServer(model: CoverModel, opts: ServeOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? "127.0.0.1";
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const log = opts.log ?? (() => undefined);
  const queue = new SerialQueue(opts.maxQueued ?? 64);
  const page = fs.readFileSync(PAGE_FILE, "utf8");
  const plotly = plotlyJs();

  const thumbFile = (kind: string, row: number): string | null => {
    if (kind === "n") return model.neighbours && row < model.neighbours.size ? model.neighbours.ds.paths[row] : null;
    if (kind === "g") return model.galleryPath(row);
    return null;
  };

  async function predict(req: http.IncomingMessage, url: URL, res: http.ServerResponse): Promise<void> {
    const bytes = await readBody(req, maxBytes);
    if (bytes.length === 0) throw new HttpError(400, "the request body is empty: send the image's bytes as the body (POST /api/predict)");
    const explain = explainGenre(url.searchParams.get("explain"), model.genres);
    const gridParam = url.searchParams.get("grid");
    const grid = gridParam === null ? undefined : Number(gridParam);
    if (grid !== undefined && !(Number.isInteger(grid) && grid >= 1 && grid <= 32)) throw new HttpError(400, `grid=${gridParam} must be an integer from 1 to 32`);
    const t0 = performance.now();
    const body = await queue.run(async () => predictBody(model, await model.analyse(bytes, { explain, occlusion: { grid } }), performance.now() - t0));
    sendJson(res, 200, body);
  }

  // Thumbnails stay out of the model queue (a gallery asks for dozens at once and they must not wait behind
  // predictions, nor fill the queue); sharp works on libuv's threads, and each is made once.
  const thumbs = new Map<string, Buffer>();
  async function thumb(kind: string, row: number, res: http.ServerResponse): Promise<void> {
    const file = thumbFile(kind, row);
    if (!file) throw new HttpError(404, `no cover ${kind}/${row}`);
    let jpeg = thumbs.get(file);
    if (!jpeg) {
      jpeg = await sharp(file).rotate().resize(160, 160, { fit: "inside" }).jpeg({ quality: 80 }).toBuffer();
      if (thumbs.size >= 2000) thumbs.delete(thumbs.keys().next().value!);
      thumbs.set(file, jpeg);
    }
    res.writeHead(200, { "Content-Type": "image/jpeg", "Content-Length": jpeg.length, "Cache-Control": "max-age=3600" });
    res.end(jpeg);
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const route = `${req.method} ${url.pathname}`;
    const handle = async (): Promise<void> => {
      if (route === "GET /" || route === "GET /index.html") {
        res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
        res.end(page);
      } else if (route === "GET /plotly.min.js") {
        res.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "max-age=86400" });
        res.end(plotly);
      } else if (route === "GET /favicon.ico") {
        res.writeHead(204);
        res.end();
      } else if (route === "GET /api/health") {
        sendJson(res, 200, healthBody(model, queue.length));
      } else if (route === "POST /api/predict") {
        await predict(req, url, res);
      } else if (route === "GET /api/gallery") {
        sendJson(res, 200, galleryBody(model));
      } else if (req.method === "GET" && /^\/api\/thumb\/[ng]\/\d+$/.test(url.pathname)) {
        const [, , , kind, row] = url.pathname.split("/");
        await thumb(kind, Number(row), res);
      } else if (url.pathname === "/api/predict") {
        throw new HttpError(405, `${req.method} /api/predict: send the image with POST`);
      } else {
        throw new HttpError(404, `no such page: ${req.method} ${url.pathname}`);
      }
    };
    handle().catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : err instanceof InputError ? 400 : err instanceof QueueFullError ? 503 : 500;
      const message = err instanceof Error ? err.message : String(err);
      if (status >= 500) log(`${route}: ${message}`);
      if (res.headersSent) res.destroy();
      else sendJson(res, status, { error: message });
    });
  });
  // A malformed request line or header: answer 400 on the socket instead of an uncaught error.
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8080, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}/`,
    server,
    queue,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
