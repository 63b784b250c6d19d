/**
 * Decoding and normalising any cover image into one in-memory form: 8-bit RGB, 3 channels,
 * row-major. Every vision step (faces, colour, backbones) starts from a {@link DecodedImage}, so
 * format quirks (CMYK JPEGs, greyscale, PNG alpha, WebP, animated GIF, EXIF rotation) are handled
 * once, here, with sharp.
 *
 * Decompression bombs are refused from the header (width × height) before any pixel is decoded,
 * because one 30k × 30k "cover" would otherwise take gigabytes of memory in a batch of thousands.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import sharp from "sharp";
import { encodedImageProblem, sniffImageFormat } from "./imageStructure";
import type { KernelEnum, Metadata, Sharp } from "sharp";
import { tf } from "../tf";

export { encodedImageProblem, sniffImageFormat } from "./imageStructure";

/** An 8-bit RGB image: `data.length === width * height * 3`, row-major, no alpha. */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface DecodeOptions {
  /**
   * Largest accepted pixel count (width × height of the first frame, read from the header before
   * decoding). Default 50e6: a 7000 × 7000 scan still passes; bombs do not.
   */
  maxPixels?: number;
  /** How errors name the image (default: the path, or `<buffer of N bytes>`). */
  name?: string;
}

/**
 * Revision of what decoding produces (pixels, orientation, alpha handling). Part of every feature
 * cache key: bump it when a change alters decoded pixels, and record the new output digest in
 * tests/fixtures/revisions.json (tests/features/revisions.test.ts fails until both agree).
 */
export const DECODE_REVISION = 1;

/** Default for {@link DecodeOptions.maxPixels}. */
export const DEFAULT_MAX_PIXELS = 50e6;

/** File extensions we treat as images (lower case, with dot); others are ignored by folder walks. */
export const IMAGE_EXTENSIONS: readonly string[] = [".jpg", ".jpeg", ".jfif", ".png", ".webp", ".gif", ".tif", ".tiff", ".avif", ".bmp"];

/** Whether a file name has an image extension (case-insensitive). */
export function isImageFile(file: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

function label(input: string | Buffer): string {
  return typeof input === "string" ? input : `<buffer of ${input.length} bytes>`;
}

/**
 * Decode a file path or an encoded buffer into RGB. JPEG (incl. CMYK and greyscale), PNG (alpha is
 * flattened onto white, as a viewer shows it), WebP, GIF (first frame), TIFF, AVIF; EXIF
 * orientation is applied so faces are upright. Throws an Error whose message names the file and
 * the reason (unreadable, not an image, truncated or corrupt data, too many pixels) — every check of
 * {@link validateImage} applies, so a truncated cover is an error here, never a half-grey image.
 */
export async function decodeImage(input: string | Buffer, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const name = opts.name ?? label(input);
  let source: Buffer;
  if (typeof input === "string") {
    try {
      source = await fs.promises.readFile(input);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason = code === "ENOENT" ? "file not found" : code === "EISDIR" ? "is a directory" : (err as Error).message;
      throw new Error(`cannot read image ${name}: ${reason}`);
    }
  } else {
    source = input;
  }
  return (await validateImage(source, { ...opts, name })).image;
}

/** What {@link validateImage} found in a complete, decodable image. */
export interface ValidImage {
  /** Container format from the magic bytes ("jpeg", "png", "gif", "webp", "bmp", "heif", "tiff") or sharp's name. */
  format: string;
  /** The fully decoded pixels (exactly what {@link decodeImage} returns). */
  image: DecodedImage;
}

/**
 * The one gate every image passes on its way in (crawl, features, faces, predict): throws unless
 * `source` is a complete image. Three independent checks, so that no single decoder report decides:
 * 1. structure ({@link encodedImageProblem}): a JPEG must end with an EOI marker after its last
 *    scan, a PNG with an IEND chunk (critical chunks' CRCs correct), a GIF with its trailer, a
 *    WebP/BMP/AVIF must be as long as its header says — a cut-off download fails here whatever
 *    the decoder says;
 * 2. the header: size known, not a decompression bomb;
 * 3. a full decode through sharp's pixel pipeline that must finish without a decoder warning
 *    (`failOn: "warning"`: libjpeg reports a cut or damaged scan only as a warning) and return
 *    exactly width × height × channels bytes. None of the 3,763 shared Discogs covers warns.
 *
 * Why not `sharp().stats()` as a "full decode" check: sharp's stats()/metadata() report failure only
 * through libvips' error text, which is one process-wide buffer that every finishing sharp job
 * clears; under concurrency a failed stats() can resolve with zero channels as if it succeeded
 * (this is how a truncated JPEG was once kept by the crawler). sharp's pixel pipeline (toBuffer)
 * reports such a failure as "Unknown error" instead, and check 1 does not depend on libvips at all.
 */
export async function validateImage(source: Buffer, opts: DecodeOptions = {}): Promise<ValidImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const name = opts.name ?? label(source);
  if (source.length === 0) throw new Error(`cannot decode image ${name}: file is empty`);
  const problem = encodedImageProblem(source);
  if (problem) throw new Error(`cannot decode image ${name}: ${problem}`);

  let meta: Metadata;
  try {
    // Header only: no pixels are decoded here. limitInputPixels off so we can give our own message.
    meta = await sharp(source, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new Error(`cannot decode image ${name}: not a supported image (${shortSharpMessage(err)})`);
  }
  const width = meta.width ?? 0;
  // For multi-page formats sharp reports the page height in pageHeight and the strip in height.
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (!width || !height) throw new Error(`cannot decode image ${name}: ${meta.format ? "header has no size" : "not a supported image"}`);
  if (width * height > maxPixels) {
    throw new Error(
      `refusing image ${name}: ${width}x${height} = ${(width * height / 1e6).toFixed(1)} Mpx exceeds the limit of ${(maxPixels / 1e6).toFixed(1)} Mpx (decompression bomb?)`,
    );
  }

  let image: DecodedImage;
  try {
    const { data, info } = await sharp(source, { limitInputPixels: Math.max(maxPixels, 1), pages: 1, failOn: "warning" })
      .rotate() // EXIF orientation
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace("srgb")
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (!info.width || !info.height || data.length !== info.width * info.height * info.channels) {
      throw new Error(`the decoder returned ${data.length} bytes for ${info.width}x${info.height}x${info.channels}`);
    }
    const rgb = toRgb(new Uint8Array(data.buffer, data.byteOffset, data.length), info.width, info.height, info.channels);
    image = { data: rgb, width: info.width, height: info.height };
  } catch (err) {
    throw new Error(`cannot decode image ${name}: ${shortSharpMessage(err)}`);
  }
  return { format: sniffImageFormat(source) ?? meta.format ?? "unknown", image };
}

function shortSharpMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0].replace(/^Input (buffer|file) /, "").trim() || "unknown error";
}

/** Whatever sharp returned (1-4 channels), as packed RGB. */
function toRgb(data: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  const n = width * height;
  if (channels === 3) return data;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    if (channels === 1 || channels === 2) {
      const v = data[i * channels];
      out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = v;
    } else {
      out[i * 3] = data[i * channels];
      out[i * 3 + 1] = data[i * channels + 1];
      out[i * 3 + 2] = data[i * channels + 2];
    }
  }
  return out;
}

function rawSharp(img: DecodedImage): Sharp {
  checkImage(img);
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: 3 },
  });
}

/** Throws if `img` is not a consistent RGB image (wrong data length, non-positive size). */
export function checkImage(img: DecodedImage): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width <= 0 || img.height <= 0) {
    throw new Error(`invalid image size ${img.width}x${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw new Error(`invalid image: ${img.data.length} bytes for ${img.width}x${img.height}x3`);
  }
}

export interface ResizeOptions {
  /**
   * Resampling kernel. Default "bilinear". Keras' `load_img(target_size=...)`, which the study
   * used, defaults to "nearest"; pass that for a bit-faithful reproduction.
   */
  kernel?: "nearest" | "bilinear" | "cubic" | "lanczos3";
}

/**
 * Square resize to `size` × `size` for backbones, squashing the aspect ratio (fit "fill") exactly
 * as the study's Keras `load_img(target_size=(s, s))` did, rather than cropping or letterboxing.
 */
export async function resizeImage(img: DecodedImage, size: number, opts: ResizeOptions = {}): Promise<DecodedImage> {
  if (!Number.isInteger(size) || size <= 0) throw new Error(`resize size must be a positive integer, got ${size}`);
  const kernel = opts.kernel ?? "bilinear";
  if (img.width === size && img.height === size) return { data: img.data.slice(), width: size, height: size };
  const sharpKernel = kernel === "bilinear" ? "linear" : kernel === "cubic" ? "cubic" : kernel;
  const { data, info } = await rawSharp(img)
    .resize(size, size, { fit: "fill", kernel: sharpKernel as keyof KernelEnum })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: toRgb(new Uint8Array(data.buffer, data.byteOffset, data.length), info.width, info.height, info.channels), width: info.width, height: info.height };
}

/**
 * Pad to a square canvas, centring the image. Face detectors resize their input to a fixed square,
 * so a wide cover squashes faces beyond recognition; padding keeps them in proportion. The offsets
 * map results back: `xOriginal = xPadded - offsetX`.
 */
export function padToSquare(
  img: DecodedImage,
  fill: [number, number, number] = [0, 0, 0],
): { image: DecodedImage; offsetX: number; offsetY: number } {
  checkImage(img);
  const side = Math.max(img.width, img.height);
  const offsetX = Math.floor((side - img.width) / 2);
  const offsetY = Math.floor((side - img.height) / 2);
  if (offsetX === 0 && offsetY === 0) return { image: img, offsetX: 0, offsetY: 0 };
  return { image: padImage(img, { left: offsetX, top: offsetY, right: side - img.width - offsetX, bottom: side - img.height - offsetY }, fill), offsetX, offsetY };
}

/** Add a border of the given widths (pixels) filled with one colour. */
export function padImage(
  img: DecodedImage,
  pad: { left: number; top: number; right: number; bottom: number },
  fill: [number, number, number] = [0, 0, 0],
): DecodedImage {
  checkImage(img);
  const width = img.width + pad.left + pad.right;
  const height = img.height + pad.top + pad.bottom;
  const data = new Uint8Array(width * height * 3);
  if (fill[0] !== 0 || fill[1] !== 0 || fill[2] !== 0) {
    for (let i = 0; i < width * height; i++) {
      data[i * 3] = fill[0];
      data[i * 3 + 1] = fill[1];
      data[i * 3 + 2] = fill[2];
    }
  }
  const rowBytes = img.width * 3;
  for (let y = 0; y < img.height; y++) {
    data.set(img.data.subarray(y * rowBytes, (y + 1) * rowBytes), ((y + pad.top) * width + pad.left) * 3);
  }
  return { data, width, height };
}

/** Mirror left-right (for flip test-time augmentation). */
export function flipHorizontal(img: DecodedImage): DecodedImage {
  checkImage(img);
  const { width, height } = img;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0; x < width; x++) {
      const s = row + x * 3;
      const d = row + (width - 1 - x) * 3;
      out[d] = img.data[s];
      out[d + 1] = img.data[s + 1];
      out[d + 2] = img.data[s + 2];
    }
  }
  return { data: out, width, height };
}

/** An int32 tensor [height, width, 3] with values 0..255 (the caller disposes it). */
export function toTensor3D(img: DecodedImage): tf.Tensor3D {
  checkImage(img);
  return tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, 3], "int32");
}

/** Encode to JPEG or PNG (for notebooks, reports and test fixtures). */
export async function encodeImage(img: DecodedImage, format: "jpeg" | "png" = "png", quality = 90): Promise<Buffer> {
  const s = rawSharp(img);
  return format === "jpeg" ? s.jpeg({ quality }).toBuffer() : s.png().toBuffer();
}
