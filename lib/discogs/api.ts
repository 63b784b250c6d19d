/**
 * The three things the crawl asks Discogs, and how to read the answers:
 * - rating count, from the API (`/releases/{main_release}/rating`) or, as the study did, from the
 *   JSON-LD block of the master's web page;
 * - the cover URL, from `/masters/{id}` (the `primary` image, else the first);
 * - the cover bytes, checked to be a real, complete image before they are kept.
 */
import sharp from "sharp";
import type { DiscogsHttp } from "./http";
import { sniffImageFormat, validateImage } from "../vision/image";

/** Rating count from a `/releases/{id}/rating` body (`{"rating": {"count": 47, …}}`), or null. */
export function ratingFromApi(body: unknown): number | null {
  const count = (body as { rating?: { count?: unknown } } | null)?.rating?.count;
  return typeof count === "number" && Number.isFinite(count) && count >= 0 ? count : null;
}

/**
 * `aggregateRating.ratingCount` from a master page's `<script … id="master_schema">` JSON-LD,
 * at the top level or under `@graph[0]`; null when the page has none.
 */
export function ratingFromMasterPage(html: string): number | null {
  const re = /<script\b([^>]*)>([\s\S]*?)<\/script>/gi;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    if (!/\bid\s*=\s*["']master_schema["']/.test(m[1])) continue;
    let doc: unknown;
    try {
      doc = JSON.parse(m[2]);
    } catch {
      return null;
    }
    const d = doc as { aggregateRating?: { ratingCount?: unknown }; "@graph"?: { aggregateRating?: { ratingCount?: unknown } }[] };
    const raw = d?.aggregateRating?.ratingCount ?? d?.["@graph"]?.[0]?.aggregateRating?.ratingCount;
    const n = typeof raw === "string" ? Number(raw) : raw;
    return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : null;
  }
  return null;
}

export interface ApiImage {
  type?: string;
  uri?: string;
  uri150?: string;
}

export type ImageSize = "full" | "150";

/**
 * The cover among a master's images: the one with `type: "primary"` (not necessarily first),
 * else the first. `url` is "" when Discogs withheld it (no authentication).
 */
export function pickCover(images: ApiImage[] | undefined, size: ImageSize): { url: string; type: string } | null {
  if (!Array.isArray(images) || images.length === 0) return null;
  const img = images.find((i) => i?.type === "primary") ?? images[0];
  const url = (size === "150" ? img.uri150 : img.uri) ?? "";
  return { url: typeof url === "string" ? url : "", type: img.type ?? "" };
}

/**
 * What decoding a downloaded body as an image found: `ok` with the bytes to keep, or a `reason`.
 * One shape rather than a union: tslab's non-strict compiler does not narrow unions on `ok`.
 */
export interface ImageCheck {
  ok: boolean;
  /** JPEG bytes to write (the body itself when it already is a JPEG). */
  jpeg?: Buffer;
  width?: number;
  height?: number;
  format?: string;
  /** Why the body is not kept. */
  reason?: string;
}

/**
 * Make sure `body` is a complete image with the same gate as every other way in
 * ({@link validateImage}: structure — e.g. a JPEG's EOI after its last scan —, header, and a full
 * decode without warnings). Non-JPEG covers are re-encoded so the `.jpeg` name holds. `name`
 * (e.g. "master 42's cover") only goes into the reason.
 */
export async function checkImage(body: Buffer, contentType = "", name = "the body"): Promise<ImageCheck> {
  const what = `${contentType || "unknown type"}, ${body.length.toLocaleString("en-US")} bytes`;
  if (body.length === 0) return { ok: false, reason: "empty body" };
  const format = sniffImageFormat(body);
  try {
    const { image } = await validateImage(body, { name });
    const jpeg = format === "jpeg" ? body : await sharp(body, { failOn: "warning" }).jpeg({ quality: 92 }).toBuffer();
    return { ok: true, jpeg, width: image.width, height: image.height, format: format ?? "unknown" };
  } catch (err) {
    const msg = (err as Error).message.split("\n")[0].replace(`cannot decode image ${name}: `, "");
    if (!format && /not a supported image|header has no size/.test(msg)) return { ok: false, reason: `not an image (${what})` };
    // e.g. "broken image (image/jpeg): master 42's cover: truncated JPEG: no EOI marker after the last scan (6,369 bytes)"
    const sized = /\([\d,]+ bytes\)$/.test(msg);
    return { ok: false, reason: `broken image (${sized ? contentType || "unknown type" : what}): ${name}: ${msg}` };
  }
}

export interface DiscogsEndpoints {
  apiBase: string;
  webBase: string;
}

function joinUrl(base: string, p: string): string {
  return base.replace(/\/+$/, "") + p;
}

/** Rating count of a release via the API; null for a 404 or a body without a count. */
export async function fetchReleaseRating(http: DiscogsHttp, ep: DiscogsEndpoints, releaseId: number, signal?: AbortSignal): Promise<number | null> {
  const res = await http.get(joinUrl(ep.apiBase, `/releases/${releaseId}/rating`), "api", signal);
  if (res.status === 404) return null;
  try {
    return ratingFromApi(JSON.parse(res.body.toString("utf8")));
  } catch {
    throw new Error(`release ${releaseId} rating: the API answered something that is not JSON (${res.contentType})`);
  }
}

/** Rating count of a master from its web page (the study's way); null when missing. */
export async function fetchPageRating(http: DiscogsHttp, ep: DiscogsEndpoints, masterId: number, signal?: AbortSignal): Promise<number | null> {
  const res = await http.get(joinUrl(ep.webBase, `/master/${masterId}`), "web", signal);
  if (res.status === 404) return null;
  return ratingFromMasterPage(res.body.toString("utf8"));
}

/** `/masters/{id}` → its images, or null for a 404. */
export async function fetchMasterImages(http: DiscogsHttp, ep: DiscogsEndpoints, masterId: number, signal?: AbortSignal): Promise<ApiImage[] | null> {
  const res = await http.get(joinUrl(ep.apiBase, `/masters/${masterId}`), "api", signal);
  if (res.status === 404) return null;
  let doc: { images?: ApiImage[] };
  try {
    doc = JSON.parse(res.body.toString("utf8"));
  } catch {
    throw new Error(`master ${masterId}: the API answered something that is not JSON (${res.contentType})`);
  }
  return Array.isArray(doc.images) ? doc.images : [];
}
