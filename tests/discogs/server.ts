/**
 * A Discogs-like server on 127.0.0.1 for crawler tests (never the real site): API, master pages
 * and image host on one port, a moving-window rate limit per kind advertised in the
 * X-Discogs-Ratelimit headers (429 when exceeded), empty image URLs without a token, and per-id
 * misbehaviour (500s, resets, slow answers, HTML instead of an image, 404s, and truncated images:
 * the first half of a baseline JPEG, a progressive JPEG or a PNG whose complete versions other
 * masters serve — same content, so only completeness tells them apart).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import sharp from "sharp";

export interface MasterSpec {
  /** main release's rating count (API) and the page's ratingCount */
  rating?: number | null;
  /** Images of /masters/{id}; default one primary image. `"none"` = no images. */
  images?: "none" | { type: string; name: string }[];
  /** Answer 500 to the first n /masters/{id} requests (Infinity = always). */
  fail500?: number;
  /** Answer 429 to the first n /masters/{id} requests although the window is not full. */
  force429?: number;
  /** Reset the connection on the first n image requests. */
  resetImage?: number;
  /** Delay every response for this master by ms. */
  slowMs?: number;
  /**
   * What the image URL serves: a baseline JPEG, a progressive JPEG or a PNG of one textured
   * picture (default "jpeg"); "truncated" (baseline), "truncated-progressive" and "truncated-png"
   * serve the first half of those same files.
   */
  imageBody?: ImageBody;
  /** /masters/{id} answers 404. */
  missing?: boolean;
  /** Page JSON-LD under @graph[0] instead of top level. */
  pageGraph?: boolean;
  /** An error body that echoes the Authorization header (to prove it never leaks). */
  echoAuthIn500?: boolean;
}

export const IMAGE_BODIES = ["jpeg", "progressive", "png", "html", "truncated", "truncated-progressive", "truncated-png", "404"] as const;
export type ImageBody = (typeof IMAGE_BODIES)[number];

/**
 * The picture every image answer shows: 160 × 120 with gradients and noise, so the encoded files
 * are several kB (a cut lands inside real scan data) and every format decodes to the same content.
 */
export async function testPicture(): Promise<{ jpeg: Buffer; progressive: Buffer; png: Buffer }> {
  const width = 160;
  const height = 120;
  const raw = Buffer.alloc(width * height * 3);
  let seed = 12345;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const i = (y * width + x) * 3;
      raw[i] = (x * 1.5 + (seed & 31)) & 255;
      raw[i + 1] = (y * 2 + ((seed >> 8) & 15)) & 255;
      raw[i + 2] = ((x ^ y) + ((seed >> 16) & 7)) & 255;
    }
  }
  const img = () => sharp(raw, { raw: { width, height, channels: 3 } });
  return {
    jpeg: await img().jpeg({ quality: 85 }).toBuffer(),
    progressive: await img().jpeg({ quality: 85, progressive: true }).toBuffer(),
    png: await img().png().toBuffer(),
  };
}

export interface RequestLog {
  kind: "api" | "image" | "web";
  path: string;
  at: number;
  auth: string | null;
  userAgent: string | null;
  status: number;
}

export interface ServerOptions {
  masters: Record<number, MasterSpec>;
  /** main_release id → master id (the dump fixtures use main_release = master * 10). */
  releaseOf?: (releaseId: number) => number;
  limits?: { api?: number; image?: number; web?: number };
  windowMs?: number;
  /** Default delay for every response. */
  delayMs?: number;
  /** Behave as if no request were authenticated (a wrong token): image URLs come back empty. */
  ignoreAuth?: boolean;
}

export class FakeDiscogs {
  readonly log: RequestLog[] = [];
  private server!: http.Server;
  base = "";
  private arrivals: Record<string, number[]> = { api: [], image: [], web: [] };
  private counters = new Map<string, number>();
  /** The complete files the image host serves (tests compare written covers against them). */
  picture!: Awaited<ReturnType<typeof testPicture>>;

  constructor(private readonly opts: ServerOptions) {}

  async start(): Promise<this> {
    this.picture = await testPicture();
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections?.();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Largest number of requests of a kind the server accepted within any window. */
  maxInWindow(kind: "api" | "image" | "web"): number {
    const t = this.log.filter((l) => l.kind === kind && l.status !== 429).map((l) => l.at);
    const w = this.opts.windowMs ?? 60_000;
    let max = 0;
    for (let i = 0, j = 0; i < t.length; i++) {
      while (t[i] - t[j] >= w) j++;
      max = Math.max(max, i - j + 1);
    }
    return max;
  }

  count(key: string): number {
    const n = (this.counters.get(key) ?? 0) + 1;
    this.counters.set(key, n);
    return n;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.base);
    const p = url.pathname;
    const kind: RequestLog["kind"] = p.startsWith("/img/") ? "image" : p.startsWith("/master/") ? "web" : "api";
    const auth = (req.headers.authorization as string | undefined) ?? null;
    const entry: RequestLog = { kind, path: p, at: Date.now(), auth, userAgent: (req.headers["user-agent"] as string) ?? null, status: 0 };
    this.log.push(entry);
    const windowMs = this.opts.windowMs ?? 60_000;
    const limit = this.opts.limits?.[kind] ?? 1000;
    const now = Date.now();
    const arr = (this.arrivals[kind] = this.arrivals[kind].filter((t) => t > now - windowMs));
    const send = (status: number, body: string | Buffer, type = "application/json", extra: Record<string, string> = {}) => {
      entry.status = status;
      res.writeHead(status, {
        "Content-Type": type,
        "X-Discogs-Ratelimit": String(limit),
        "X-Discogs-Ratelimit-Used": String(arr.length),
        "X-Discogs-Ratelimit-Remaining": String(Math.max(0, limit - arr.length)),
        ...extra,
      });
      res.end(body);
    };
    if (arr.length >= limit) return send(429, JSON.stringify({ message: "You are making requests too quickly." }));
    arr.push(now);

    const m = /^\/(?:masters|master|img)\/(\d+)/.exec(p) ?? /^\/releases\/(\d+)\/rating$/.exec(p);
    if (!m) return send(404, JSON.stringify({ message: "The requested resource was not found." }));
    let id = Number(m[1]);
    if (p.startsWith("/releases/")) id = this.opts.releaseOf ? this.opts.releaseOf(id) : id / 10;
    const spec = this.opts.masters[id];
    const delay = spec?.slowMs ?? this.opts.delayMs ?? 0;
    if (delay) await new Promise((r) => setTimeout(r, delay));
    if (!spec) return send(404, JSON.stringify({ message: "The requested resource was not found." }));

    if (p.startsWith("/releases/")) {
      if (spec.rating == null) return send(404, JSON.stringify({ message: "not found" }));
      return send(200, JSON.stringify({ rating: { count: spec.rating, average: 4.1 }, release_id: Number(m[1]) }));
    }
    if (kind === "web") {
      const ld = spec.rating == null ? { "@type": "MusicAlbum", name: "x" } : { "@type": "MusicAlbum", aggregateRating: { "@type": "AggregateRating", ratingCount: spec.rating, ratingValue: 4.2 } };
      const json = spec.pageGraph ? { "@context": "http://schema.org", "@graph": [ld] } : { "@context": "http://schema.org", ...ld };
      return send(200, `<html><head><script type="application/ld+json" id="release_schema">{"aggregateRating":{"ratingCount":1}}</script><script type="application/ld+json" id="master_schema">${JSON.stringify(json)}</script></head><body>master ${id}</body></html>`, "text/html");
    }
    if (p.startsWith("/masters/")) {
      const n = this.count(`masters/${id}`);
      if (spec.fail500 && n <= spec.fail500) {
        return send(500, spec.echoAuthIn500 ? `<html>Internal error for request with Authorization: ${auth}</html>` : "<html>500</html>", "text/html");
      }
      if (spec.force429 && n <= spec.force429) return send(429, JSON.stringify({ message: "You are making requests too quickly." }));
      if (spec.missing) return send(404, JSON.stringify({ message: "Release not found." }));
      const images = spec.images === "none" ? [] : spec.images ?? [{ type: "primary", name: `${id}` }];
      const authed = !this.opts.ignoreAuth && auth != null && auth.startsWith("Discogs token=");
      return send(
        200,
        JSON.stringify({
          id,
          main_release: id * 10,
          images: images.map((im) => ({
            type: im.type,
            uri: authed ? `${this.base}/img/${id}/${im.name}-full.jpeg` : "",
            uri150: authed ? `${this.base}/img/${id}/${im.name}-150.jpeg` : "",
            resource_url: authed ? `${this.base}/img/${id}/${im.name}-full.jpeg` : "",
            width: 600,
            height: 600,
          })),
        }),
      );
    }
    // image
    const n = this.count(`img/${id}`);
    if (spec.resetImage && n <= spec.resetImage) {
      entry.status = -1;
      req.socket.destroy();
      return;
    }
    const body = spec.imageBody ?? "jpeg";
    const half = (b: Buffer) => b.subarray(0, Math.floor(b.length / 2));
    switch (body) {
      case "png":
        return send(200, this.picture.png, "image/png");
      case "progressive":
        return send(200, this.picture.progressive, "image/jpeg");
      case "html":
        return send(200, "<!DOCTYPE html><html><body>Rate limited, try later</body></html>", "text/html");
      case "truncated":
        return send(200, half(this.picture.jpeg), "image/jpeg");
      case "truncated-progressive":
        return send(200, half(this.picture.progressive), "image/jpeg");
      case "truncated-png":
        return send(200, half(this.picture.png), "image/png");
      case "404":
        return send(404, "not found", "text/plain");
      default:
        return send(200, this.picture.jpeg, "image/jpeg");
    }
  }
}

/** A masters dump for the given ids/genres (main_release = id × 10). */
export function dumpXml(masters: { id: number; genres: string[] }[]): string {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  return (
    "<masters>\n" +
    masters
      .map(
        (m) =>
          `<master id="${m.id}"><main_release>${m.id * 10}</main_release><artists><artist><id>1</id><name>A</name></artist></artists><genres>${m.genres
            .map((g) => `<genre>${esc(g)}</genre>`)
            .join("")}</genres><year>2000</year><title>T${m.id}</title><data_quality>Correct</data_quality></master>`,
      )
      .join("\n") +
    "\n</masters>\n"
  );
}
