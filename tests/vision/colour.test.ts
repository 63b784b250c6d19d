import sharp from "sharp";
import { colourFeatures, dominantColour, histograms, kmeans, luma, meanColour, samplePixels } from "../../lib/vision/colour";
import { decodeImage, type DecodedImage } from "../../lib/vision/image";

function solid(width: number, height: number, rgb: [number, number, number]): DecodedImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { data, width, height };
}

/** Left `frac` of the columns one colour, the rest another. */
function split(width: number, height: number, a: [number, number, number], b: [number, number, number], frac: number): DecodedImage {
  const img = solid(width, height, b);
  for (let y = 0; y < height; y++) for (let x = 0; x < Math.round(width * frac); x++) img.data.set(a, (y * width + x) * 3);
  return img;
}

describe("histograms", () => {
  test("count every pixel once per channel, grey by BT.601 luma", () => {
    const img = split(10, 10, [255, 0, 0], [0, 0, 255], 0.3);
    const { grey, rgb } = histograms(img);
    expect(grey.reduce((a, b) => a + b, 0)).toBe(100);
    expect(rgb[255]).toBe(30); // R=255 in the red part
    expect(rgb[0]).toBe(70);
    expect(rgb[512 + 255]).toBe(70); // B=255 in the blue part
    expect(rgb[256 + 0]).toBe(100); // G always 0
    expect(grey[luma(255, 0, 0)]).toBe(30);
    expect(grey[luma(0, 0, 255)]).toBe(70);
  });

  test("luma matches PIL's integer formula", () => {
    expect(luma(255, 255, 255)).toBe(255);
    expect(luma(0, 0, 0)).toBe(0);
    expect(luma(255, 0, 0)).toBe(76);
    expect(luma(0, 255, 0)).toBe(149);
    expect(luma(0, 0, 255)).toBe(29);
  });
});

describe("mean and dominant colour", () => {
  test("mean is the pixel average", () => {
    const m = meanColour(split(10, 10, [200, 100, 0], [0, 100, 200], 0.5));
    expect(m[0]).toBeCloseTo(100);
    expect(m[1]).toBeCloseTo(100);
    expect(m[2]).toBeCloseTo(100);
  });

  test("dominant is the largest cluster's centre, not the mean", () => {
    const img = split(120, 80, [250, 10, 10], [10, 20, 240], 0.7);
    const dom = dominantColour(img);
    expect(dom.colour).toEqual([250, 10, 10]);
    expect(dom.share).toBeGreaterThan(0.65);
    expect(dom.share).toBeLessThan(0.75);
    const other = dominantColour(split(120, 80, [250, 10, 10], [10, 20, 240], 0.2));
    expect(other.colour).toEqual([10, 20, 240]);
  });

  test("a single-colour image gives that colour with share 1 (fewer colours than k)", () => {
    const dom = dominantColour(solid(50, 50, [12, 34, 56]));
    expect(dom).toEqual({ colour: [12, 34, 56], share: 1 });
  });

  test("deterministic: same image, same answer", () => {
    const data = new Uint8Array(64 * 64 * 3);
    let s = 7;
    for (let i = 0; i < data.length; i++) data[i] = s = (s * 1103515245 + 12345) & 0xff;
    const img = { data, width: 64, height: 64 };
    expect(dominantColour(img)).toEqual(dominantColour(img));
  });

  test("sampling caps the pixel count and keeps colours", () => {
    const pts = samplePixels(split(300, 300, [1, 2, 3], [4, 5, 6], 0.5), 4096);
    expect(pts.length / 3).toBeLessThanOrEqual(4096);
    expect(pts.length / 3).toBeGreaterThan(3000);
    expect(new Set(Array.from(pts)).size).toBe(6);
  });

  test("kmeans separates two well-apart groups", () => {
    const pts = Float64Array.from([0, 0, 0, 1, 1, 1, 2, 0, 1, 200, 200, 200, 201, 199, 200]);
    const { centres, sizes } = kmeans(pts, 2, 10, 3);
    const order = sizes[0] === 3 ? [0, 1] : [1, 0];
    expect(sizes[order[0]]).toBe(3);
    expect(centres[order[0]][0]).toBeCloseTo(1);
    expect(centres[order[1]][0]).toBeCloseTo(200.5);
  });

  test("works on a real decoded JPEG (sharp-generated)", async () => {
    const jpeg = await sharp({ create: { width: 90, height: 60, channels: 3, background: { r: 30, g: 160, b: 90 } } }).jpeg().toBuffer();
    const f = colourFeatures(await decodeImage(jpeg));
    expect(f.grey.reduce((a, b) => a + b, 0)).toBe(90 * 60);
    for (let c = 0; c < 3; c++) expect(Math.abs(f.dominant[c] - [30, 160, 90][c])).toBeLessThanOrEqual(3);
  });
});
