/**
 * Storage codecs for wide feature maps (InceptionV3 mixed7 at 150x150 is 7x7x768 = 37,632 floats a
 * cover: 566 MB in float32 for the 3,763 shared covers). Three encodings, chosen by measurement
 * (see lib/features/README.md and `npm run bench:features`):
 *
 * - `f32`: exact, 4 bytes a value;
 * - `f16`: IEEE half precision, 2 bytes (relative error ≤ 2^-11 for normal values);
 * - `u8`: one byte a value with a per-row scale (row max / 255). mixed7 ends in ReLUs, so values
 *   are ≥ 0 and a zero offset loses nothing; the error is at most scale / 2.
 *
 * Recomputing maps on demand would cost ≈ 100 ms a cover on wasm (6+ minutes for the shared set,
 * every time the head is trained), which is why they are stored at all.
 */
export type MapDtype = "f32" | "f16" | "u8";

export const MAP_DTYPES: readonly MapDtype[] = ["f32", "f16", "u8"];

export function bytesPerValue(dtype: MapDtype): number {
  return dtype === "f32" ? 4 : dtype === "f16" ? 2 : 1;
}

/** One encoded row plus the scale needed to decode it (1 for f32/f16). */
export interface EncodedRow {
  bytes: Uint8Array;
  scale: number;
}

export function encodeRow(values: Float32Array, dtype: MapDtype): EncodedRow {
  if (dtype === "f32") {
    const copy = new Float32Array(values);
    return { bytes: new Uint8Array(copy.buffer), scale: 1 };
  }
  if (dtype === "f16") {
    const out = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = floatToHalf(values[i]);
    return { bytes: new Uint8Array(out.buffer), scale: 1 };
  }
  let max = 0;
  let min = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] > max) max = values[i];
    if (values[i] < min) min = values[i];
  }
  if (min < 0) throw new Error(`u8 map encoding needs values ≥ 0 (ReLU outputs), got ${min}`);
  const scale = max > 0 ? max / 255 : 1;
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.round(values[i] / scale);
  return { bytes: out, scale };
}

/** Decode one row into `target` (at `offset`), so readers can fill one big Float32Array without copies. */
export function decodeRowInto(bytes: Uint8Array, dtype: MapDtype, scale: number, target: Float32Array, offset = 0): void {
  if (dtype === "f32") {
    const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
    target.set(new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4), offset);
  } else if (dtype === "f16") {
    const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
    const halves = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
    const lut = halfTable();
    for (let i = 0; i < halves.length; i++) target[offset + i] = lut[halves[i]];
  } else {
    for (let i = 0; i < bytes.length; i++) target[offset + i] = bytes[i] * scale;
  }
}

let HALF_TABLE: Float32Array | null = null;

/** All 65,536 halves decoded once (256 kB): decoding 141 M values then costs one lookup each. */
function halfTable(): Float32Array {
  if (!HALF_TABLE) {
    HALF_TABLE = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) HALF_TABLE[h] = halfToFloat(h);
  }
  return HALF_TABLE;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → IEEE 754 half (round to nearest even), as Node 20 has no Float16Array. */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // may carry into the exponent: still correct
  return sign | half;
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Error of an encoding on real rows: max |error| / row max and RMS error / RMS value (for the bench and README). */
export function measureCodecError(rows: Float32Array[], dtype: MapDtype): { maxRelToRowMax: number; relRms: number } {
  let maxRel = 0;
  let errSq = 0;
  let valSq = 0;
  for (const row of rows) {
    const enc = encodeRow(row, dtype);
    const dec = new Float32Array(row.length);
    decodeRowInto(enc.bytes, dtype, enc.scale, dec);
    let rowMax = 0;
    for (let i = 0; i < row.length; i++) rowMax = Math.max(rowMax, Math.abs(row[i]));
    for (let i = 0; i < row.length; i++) {
      const e = Math.abs(dec[i] - row[i]);
      if (rowMax > 0) maxRel = Math.max(maxRel, e / rowMax);
      errSq += e * e;
      valSq += row[i] * row[i];
    }
  }
  return { maxRelToRowMax: maxRel, relRms: valSq > 0 ? Math.sqrt(errSq / valSq) : 0 };
}
