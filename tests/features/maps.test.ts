import { decodeRowInto, encodeRow, floatToHalf, halfToFloat, measureCodecError } from "../../lib/features/maps";

describe("map codecs", () => {
  const row = Float32Array.from({ length: 1000 }, (_, i) => (i % 7 === 0 ? 0 : Math.abs(Math.sin(i)) * 9.3));

  test("f32 is exact", () => {
    const enc = encodeRow(row, "f32");
    const out = new Float32Array(row.length + 5);
    decodeRowInto(enc.bytes, "f32", enc.scale, out, 5);
    expect(Array.from(out.subarray(5))).toEqual(Array.from(row));
  });

  test("f16 round trip within half precision; special values", () => {
    const enc = encodeRow(row, "f16");
    expect(enc.bytes.byteLength).toBe(2000);
    const out = new Float32Array(row.length);
    decodeRowInto(enc.bytes, "f16", enc.scale, out);
    for (let i = 0; i < row.length; i++) expect(Math.abs(out[i] - row[i])).toBeLessThanOrEqual(Math.abs(row[i]) * 2 ** -11 + 1e-7);
    expect(halfToFloat(floatToHalf(1))).toBe(1);
    expect(halfToFloat(floatToHalf(-2.5))).toBe(-2.5);
    expect(halfToFloat(floatToHalf(65504))).toBe(65504);
    expect(halfToFloat(floatToHalf(1e6))).toBe(Infinity);
    expect(halfToFloat(floatToHalf(2 ** -24))).toBe(2 ** -24); // smallest subnormal
    expect(halfToFloat(floatToHalf(0))).toBe(0);
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
  });

  test("u8 uses a per-row scale; error at most half a step", () => {
    const enc = encodeRow(row, "u8");
    expect(enc.bytes.byteLength).toBe(1000);
    const max = Math.max(...row);
    expect(enc.scale).toBeCloseTo(max / 255);
    const out = new Float32Array(row.length);
    decodeRowInto(enc.bytes, "u8", enc.scale, out);
    for (let i = 0; i < row.length; i++) expect(Math.abs(out[i] - row[i])).toBeLessThanOrEqual(enc.scale / 2 + 1e-6);
    expect(() => encodeRow(Float32Array.from([-1, 2]), "u8")).toThrow(/≥ 0/);
  });

  test("measured error orders the codecs", () => {
    const f16 = measureCodecError([row], "f16");
    const u8 = measureCodecError([row], "u8");
    expect(measureCodecError([row], "f32").relRms).toBe(0);
    expect(f16.relRms).toBeGreaterThan(0);
    expect(u8.relRms).toBeGreaterThan(f16.relRms);
    expect(u8.maxRelToRowMax).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
  });
});

import { pickCovers } from "../../lib/features/build";

describe("pickCovers", () => {
  const all = [...Array(10).keys()];
  test("first N, spread N, or all", () => {
    expect(pickCovers(all, 3)).toEqual([0, 1, 2]);
    expect(pickCovers(all, 5, "spread")).toEqual([0, 2, 4, 6, 8]);
    expect(pickCovers(all, undefined, "spread")).toEqual(all);
    expect(pickCovers(all, 20)).toEqual(all);
  });
});
