/**
 * Structural completeness of encoded images, read from the bytes alone (no decoder involved): the
 * check that a cut-off download fails whatever libjpeg/libvips report, and whatever else is being
 * decoded at the same time. Used by {@link validateImage} in ./image, the gate every image passes.
 *
 * What "complete" means here, per container:
 * - JPEG: SOI, marker segments each fully present, at least one scan (SOS), and after the last
 *   scan's entropy-coded data an EOI marker (FFD9). Bytes after EOI are allowed and ignored (zero
 *   padding, appended previews, camera trailers: libjpeg ignores them too); stray bytes between
 *   segments are skipped as libjpeg does. A cut anywhere removes the EOI, so every truncation fails.
 * - PNG: signature, IHDR first, at least one IDAT, an IEND chunk; every critical chunk (IHDR, PLTE,
 *   IDAT, IEND) must carry a correct CRC (libpng also only errors on critical chunks). Bytes after
 *   IEND are allowed and ignored.
 * - GIF: header, screen descriptor and colour table, then blocks up to the trailer (0x3B), with at
 *   least one image; every sub-block present.
 * - WebP: the RIFF size must fit in the file. BMP: the header's file size (when set) must fit.
 *   AVIF/HEIF: every top-level box must fit.
 * - TIFF and anything else: not checked here (offsets point anywhere); the full decode decides.
 */
import * as zlib from "node:zlib";

/** The container format from the magic bytes, or null when unknown. */
export function sniffImageFormat(b: Buffer): "jpeg" | "png" | "gif" | "webp" | "bmp" | "heif" | "tiff" | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) return "png";
  if (b.length >= 6 && (b.toString("latin1", 0, 6) === "GIF87a" || b.toString("latin1", 0, 6) === "GIF89a")) return "gif";
  if (b.length >= 12 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WEBP") return "webp";
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return "bmp";
  if (b.length >= 12 && b.toString("latin1", 4, 8) === "ftyp") return "heif";
  if (b.length >= 4 && (b.toString("latin1", 0, 4) === "II*\0" || b.toString("latin1", 0, 4) === "MM\0*")) return "tiff";
  return null;
}

/** Bytes with thousands separators, as in messages ("6,369 bytes"). */
function bytes(n: number): string {
  return `${n.toLocaleString("en-US")} bytes`;
}

/**
 * Why `b` is not a structurally complete image, or null when it is (or when its format is not one
 * checked here: then the decoder alone decides). Messages start with "truncated <FORMAT>:" or
 * "corrupt <FORMAT>:" and end with the size, e.g.
 * "truncated JPEG: no EOI marker after the last scan (6,369 bytes)".
 */
export function encodedImageProblem(b: Buffer): string | null {
  switch (sniffImageFormat(b)) {
    case "jpeg":
      return jpegProblem(b);
    case "png":
      return pngProblem(b);
    case "gif":
      return gifProblem(b);
    case "webp":
      return webpProblem(b);
    case "bmp":
      return bmpProblem(b);
    case "heif":
      return heifProblem(b);
    default:
      return null;
  }
}

function jpegProblem(b: Buffer): string | null {
  const n = b.length;
  const truncated = (what: string) => `truncated JPEG: ${what} (${bytes(n)})`;
  let pos = 2; // after SOI
  let scans = 0;
  for (;;) {
    // Find the next marker: skip stray bytes (libjpeg warns and resyncs) and 0xFF fill bytes.
    while (pos < n && b[pos] !== 0xff) pos++;
    while (pos < n && b[pos] === 0xff) pos++;
    if (pos >= n) return truncated(scans ? "no EOI marker after the last scan" : "ends before the first scan");
    const marker = b[pos++];
    if (marker === 0xd9) return scans ? null : `corrupt JPEG: EOI before any scan (${bytes(n)})`;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length
    if (marker === 0x00) return `corrupt JPEG: stuffed byte outside a scan at byte ${pos - 2} (${bytes(n)})`;
    if (pos + 2 > n) return truncated(`ends inside the length of marker 0xFF${hex(marker)}`);
    const len = b.readUInt16BE(pos);
    if (len < 2) return `corrupt JPEG: marker 0xFF${hex(marker)} at byte ${pos - 2} has length ${len} (${bytes(n)})`;
    if (pos + len > n) return truncated(`segment 0xFF${hex(marker)} at byte ${pos - 2} needs ${len} bytes, ${n - pos} left`);
    pos += len;
    if (marker !== 0xda) continue;
    // SOS: entropy-coded data up to the next marker that is not a stuffed 0xFF00, a restart
    // marker or fill.
    scans++;
    for (;;) {
      const ff = b.indexOf(0xff, pos);
      if (ff < 0 || ff + 1 >= n) return truncated("no EOI marker after the last scan");
      const next = b[ff + 1];
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === 0xff) {
        pos = ff + 1 + (next === 0xff ? 0 : 1);
        continue;
      }
      pos = ff; // a real marker: back to the segment loop
      break;
    }
  }
}

function hex(v: number): string {
  return v.toString(16).toUpperCase().padStart(2, "0");
}

let crcTable: Uint32Array | null = null;
function crc32(data: Buffer): number {
  const native = (zlib as unknown as { crc32?: (d: Buffer) => number }).crc32;
  if (native) return native(data) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngProblem(b: Buffer): string | null {
  const n = b.length;
  const truncated = (what: string) => `truncated PNG: ${what} (${bytes(n)})`;
  let pos = 8;
  let first = true;
  let idat = false;
  for (;;) {
    if (pos + 8 > n) return truncated("no IEND chunk");
    const len = b.readUInt32BE(pos);
    const type = b.toString("latin1", pos + 4, pos + 8);
    if (!/^[A-Za-z]{4}$/.test(type) || len > 0x7fffffff) return `corrupt PNG: bad chunk header at byte ${pos} (${bytes(n)})`;
    if (first && type !== "IHDR") return `corrupt PNG: first chunk is ${type}, not IHDR (${bytes(n)})`;
    first = false;
    if (pos + 12 + len > n) return truncated(`chunk ${type} at byte ${pos} needs ${len + 12} bytes, ${n - pos} left; no IEND chunk`);
    const critical = type.charCodeAt(0) < 0x61; // upper-case first letter
    if (critical && crc32(b.subarray(pos + 4, pos + 8 + len)) !== b.readUInt32BE(pos + 8 + len)) {
      return `corrupt PNG: bad CRC in ${type} chunk at byte ${pos} (${bytes(n)})`;
    }
    if (type === "IDAT") idat = true;
    if (type === "IEND") return idat ? null : `corrupt PNG: IEND before any IDAT (${bytes(n)})`;
    pos += 12 + len;
  }
}

function gifProblem(b: Buffer): string | null {
  const n = b.length;
  const truncated = (what: string) => `truncated GIF: ${what} (${bytes(n)})`;
  if (n < 13) return truncated("ends inside the screen descriptor");
  let pos = 13 + (b[10] & 0x80 ? 3 * (1 << ((b[10] & 7) + 1)) : 0);
  let images = 0;
  const skipSubBlocks = (p: number): number => {
    while (p < n) {
      const size = b[p];
      p += 1 + size;
      if (size === 0) return p;
    }
    return -1;
  };
  for (;;) {
    if (pos >= n) return truncated("no trailer");
    const block = b[pos];
    if (block === 0x3b) return images ? null : `corrupt GIF: no image before the trailer (${bytes(n)})`;
    if (block === 0x21) {
      pos = skipSubBlocks(pos + 2);
    } else if (block === 0x2c) {
      if (pos + 10 > n) return truncated("ends inside an image descriptor");
      const flags = b[pos + 9];
      pos += 10 + (flags & 0x80 ? 3 * (1 << ((flags & 7) + 1)) : 0);
      pos = skipSubBlocks(pos + 1); // +1: LZW minimum code size
      images++;
    } else {
      return `corrupt GIF: unknown block 0x${hex(block)} at byte ${pos} (${bytes(n)})`;
    }
    if (pos < 0) return truncated("ends inside a data block; no trailer");
  }
}

function webpProblem(b: Buffer): string | null {
  const size = b.readUInt32LE(4) + 8;
  return size > b.length ? `truncated WebP: the RIFF header says ${bytes(size)}, the file has ${bytes(b.length)}` : null;
}

function bmpProblem(b: Buffer): string | null {
  if (b.length < 14) return `truncated BMP: ends inside the file header (${bytes(b.length)})`;
  const size = b.readUInt32LE(2);
  return size > b.length ? `truncated BMP: the header says ${bytes(size)}, the file has ${bytes(b.length)}` : null;
}

function heifProblem(b: Buffer): string | null {
  const n = b.length;
  let pos = 0;
  while (pos + 8 <= n) {
    let size = b.readUInt32BE(pos);
    const type = b.toString("latin1", pos + 4, pos + 8);
    if (size === 0) return null; // extends to the end of the file
    if (size === 1) {
      if (pos + 16 > n) return `truncated AVIF/HEIF: ends inside the size of box ${type} (${bytes(n)})`;
      size = Number(b.readBigUInt64BE(pos + 8));
    }
    if (size < 8) return `corrupt AVIF/HEIF: box ${type} at byte ${pos} has size ${size} (${bytes(n)})`;
    if (pos + size > n) return `truncated AVIF/HEIF: box ${type} at byte ${pos} needs ${bytes(size)}, ${bytes(n - pos)} left`;
    pos += size;
  }
  return null;
}
