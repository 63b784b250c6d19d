import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import sharp from "sharp";
import { tf, initTf } from "../../lib/tf";
import {
  decodeImage,
  resizeImage,
  padToSquare,
  padImage,
  flipHorizontal,
  toTensor3D,
  encodeImage,
  isImageFile,
  encodedImageProblem,
  sniffImageFormat,
  validateImage,
  DecodedImage,
} from "../../lib/vision/image";

/** A 40x20 image: left half red, right half blue. */
function redBlue(width = 40, height = 20): { raw: Buffer; width: number; height: number } {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      if (x < width / 2) raw[i] = 255;
      else raw[i + 2] = 255;
    }
  }
  return { raw, width, height };
}

function pixel(img: DecodedImage, x: number, y: number): [number, number, number] {
  const i = (y * img.width + x) * 3;
  return [img.data[i], img.data[i + 1], img.data[i + 2]];
}

function near(a: number[], b: number[], tol: number): boolean {
  return a.every((v, i) => Math.abs(v - b[i]) <= tol);
}

/** A PNG whose header claims `width` x `height` but whose pixel data is a few bytes: a decompression bomb's header. */
function bombPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(Buffer.alloc(16))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

describe("decodeImage", () => {
  const { raw, width, height } = redBlue();
  const base = () => sharp(raw, { raw: { width, height, channels: 3 } });
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "covergenre-image-"));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("RGB JPEG decodes to packed RGB with the right colours", async () => {
    const img = await decodeImage(await base().jpeg({ quality: 95 }).toBuffer());
    expect([img.width, img.height, img.data.length]).toEqual([40, 20, 40 * 20 * 3]);
    expect(near(pixel(img, 5, 10), [255, 0, 0], 20)).toBe(true);
    expect(near(pixel(img, 35, 10), [0, 0, 255], 20)).toBe(true);
  });

  test("CMYK JPEG is converted to RGB", async () => {
    const buf = await base().toColourspace("cmyk").jpeg({ quality: 95 }).toBuffer();
    expect((await sharp(buf).metadata()).space).toBe("cmyk");
    const img = await decodeImage(buf);
    expect(img.data.length).toBe(40 * 20 * 3);
    // Red stays clearly red and blue clearly blue after the CMYK round trip.
    const [r1, g1, b1] = pixel(img, 5, 10);
    const [r2, g2, b2] = pixel(img, 35, 10);
    expect(r1).toBeGreaterThan(150);
    expect(Math.max(g1, b1)).toBeLessThan(100);
    expect(b2).toBeGreaterThan(100);
    expect(r2).toBeLessThan(100);
  });

  test("greyscale JPEG gives 3 equal channels", async () => {
    const grey = Buffer.alloc(40 * 20);
    for (let i = 0; i < grey.length; i++) grey[i] = (i * 7) % 256;
    const buf = await sharp(grey, { raw: { width: 40, height: 20, channels: 1 } }).toColourspace("b-w").jpeg().toBuffer();
    expect((await sharp(buf).metadata()).channels).toBe(1);
    const img = await decodeImage(buf);
    expect(img.data.length).toBe(40 * 20 * 3);
    const [r, g, b] = pixel(img, 5, 5);
    expect(r).toBe(g);
    expect(g).toBe(b);
  });

  test("PNG with alpha is flattened onto white", async () => {
    const rgba = Buffer.alloc(4 * 4 * 4);
    for (let i = 0; i < 16; i++) {
      rgba[i * 4] = 0; // black...
      rgba[i * 4 + 3] = i < 8 ? 0 : 255; // ...transparent in the top half
    }
    const buf = await sharp(rgba, { raw: { width: 4, height: 4, channels: 4 } }).png().toBuffer();
    const img = await decodeImage(buf);
    expect(pixel(img, 0, 0)).toEqual([255, 255, 255]);
    expect(pixel(img, 0, 3)).toEqual([0, 0, 0]);
  });

  test("WebP and GIF (first frame) decode", async () => {
    const webp = await decodeImage(await base().webp({ lossless: true }).toBuffer());
    expect([webp.width, webp.height]).toEqual([40, 20]);
    expect(pixel(webp, 5, 5)).toEqual([255, 0, 0]);

    // Two-frame animated GIF: frame 1 red, frame 2 blue; only the first counts.
    const frames = Buffer.concat([Buffer.alloc(8 * 8 * 3, 0), Buffer.alloc(8 * 8 * 3, 0)]);
    for (let i = 0; i < 64; i++) {
      frames[i * 3] = 255;
      frames[192 + i * 3 + 2] = 255;
    }
    const gif = await sharp(frames, { raw: { width: 8, height: 16, channels: 3, pageHeight: 8 } as never })
      .gif({ loop: 0 })
      .toBuffer();
    const meta = await sharp(gif, { pages: -1 }).metadata();
    expect(meta.pages).toBe(2);
    const img = await decodeImage(gif);
    expect([img.width, img.height]).toEqual([8, 8]);
    expect(near(pixel(img, 4, 4), [255, 0, 0], 10)).toBe(true);
  });

  test("EXIF orientation is applied", async () => {
    // Orientation 6 = rotate 90° clockwise to display: a 40x20 image shows as 20x40.
    const buf = await base().jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const img = await decodeImage(buf);
    expect([img.width, img.height]).toEqual([20, 40]);
    // The red (left) half ends up on top after a clockwise turn.
    expect(near(pixel(img, 10, 5), [255, 0, 0], 30)).toBe(true);
    expect(near(pixel(img, 10, 35), [0, 0, 255], 30)).toBe(true);
  });

  test("a decompression bomb is refused from its header", async () => {
    const bomb = bombPng(100_000, 100_000);
    expect(bomb.length).toBeLessThan(200);
    await expect(decodeImage(bomb)).rejects.toThrow(/100000x100000.*exceeds the limit of 50\.0 Mpx/);
    const file = path.join(tmp, "bomb.png");
    fs.writeFileSync(file, bomb);
    await expect(decodeImage(file)).rejects.toThrow(new RegExp(`refusing image ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    // The limit is configurable.
    await expect(decodeImage(await base().png().toBuffer(), { maxPixels: 100 })).rejects.toThrow(/exceeds the limit/);
  });

  test("bad files get errors naming the file and the reason", async () => {
    const text = path.join(tmp, "notes.jpg");
    fs.writeFileSync(text, "this is not a picture");
    await expect(decodeImage(text)).rejects.toThrow(new RegExp(`cannot decode image .*notes\\.jpg: not a supported image`));
    await expect(decodeImage(path.join(tmp, "missing.jpg"))).rejects.toThrow(/missing\.jpg: file not found/);
    const empty = path.join(tmp, "empty.png");
    fs.writeFileSync(empty, "");
    await expect(decodeImage(empty)).rejects.toThrow(/empty\.png: file is empty/);
    const good = await base().jpeg().toBuffer();
    const truncated = path.join(tmp, "truncated.jpg");
    fs.writeFileSync(truncated, good.subarray(0, Math.floor(good.length / 2)));
    await expect(decodeImage(truncated)).rejects.toThrow(/truncated\.jpg: truncated JPEG: /);
  });

  test("isImageFile goes by extension", () => {
    expect(isImageFile("a/B.JPEG")).toBe(true);
    expect(isImageFile("x.webp")).toBe(true);
    expect(isImageFile("labels.csv")).toBe(false);
    expect(isImageFile(".DS_Store")).toBe(false);
  });
});

describe("resize, pad, flip, tensor", () => {
  const { raw, width, height } = redBlue();
  const img: DecodedImage = { data: new Uint8Array(raw), width, height };

  test("resizeImage squashes to a square (no crop)", async () => {
    const r = await resizeImage(img, 10);
    expect([r.width, r.height, r.data.length]).toEqual([10, 10, 300]);
    // Both halves survive the squash: left red, right blue.
    expect(near(pixel(r, 1, 5), [255, 0, 0], 40)).toBe(true);
    expect(near(pixel(r, 8, 5), [0, 0, 255], 40)).toBe(true);
    const n = await resizeImage(img, 10, { kernel: "nearest" });
    expect(pixel(n, 0, 0)).toEqual([255, 0, 0]);
    await expect(resizeImage(img, 0)).rejects.toThrow(/positive integer/);
  });

  test("padToSquare centres the image and reports offsets", () => {
    const { image, offsetX, offsetY } = padToSquare(img, [0, 255, 0]);
    expect([image.width, image.height, offsetX, offsetY]).toEqual([40, 40, 0, 10]);
    expect(pixel(image, 0, 0)).toEqual([0, 255, 0]);
    expect(pixel(image, 0, 10)).toEqual([255, 0, 0]);
    expect(pixel(image, 39, 29)).toEqual([0, 0, 255]);
    expect(pixel(image, 39, 30)).toEqual([0, 255, 0]);
    const tall = padToSquare({ data: new Uint8Array(3 * 3 * 8), width: 3, height: 8 });
    expect([tall.image.width, tall.offsetX, tall.offsetY]).toEqual([8, 2, 0]);
    expect(padToSquare(padToSquare(img).image).offsetX).toBe(0);
  });

  test("padImage and flipHorizontal", () => {
    const p = padImage(img, { left: 1, top: 2, right: 3, bottom: 4 });
    expect([p.width, p.height]).toEqual([44, 26]);
    expect(pixel(p, 1, 2)).toEqual([255, 0, 0]);
    const f = flipHorizontal(img);
    expect(pixel(f, 0, 0)).toEqual([0, 0, 255]);
    expect(pixel(f, 39, 0)).toEqual([255, 0, 0]);
    expect(flipHorizontal(f).data).toEqual(img.data);
  });

  test("toTensor3D gives int32 [h,w,3] and encode round-trips", async () => {
    await initTf();
    const t = toTensor3D(img);
    expect(t.shape).toEqual([20, 40, 3]);
    expect(t.dtype).toBe("int32");
    expect(Array.from(t.slice([0, 39, 0], [1, 1, 3]).dataSync())).toEqual([0, 0, 255]);
    tf.dispose(t);
    const png = await encodeImage(img, "png");
    expect((await decodeImage(png)).data).toEqual(img.data);
    expect(() => toTensor3D({ data: new Uint8Array(5), width: 2, height: 2 })).toThrow(/invalid image/);
  });
});

describe("structural completeness (encodedImageProblem)", () => {
  /** 64x48 with noise: several kB in every format, so cuts land inside real scan/pixel data. */
  async function noisy(): Promise<Record<"baseline" | "progressive" | "png" | "gif" | "webp", Buffer>> {
    const width = 64;
    const height = 48;
    const raw = Buffer.alloc(width * height * 3);
    let s = 99;
    for (let i = 0; i < raw.length; i++) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      raw[i] = (i + (s & 63)) & 255;
    }
    const img = () => sharp(raw, { raw: { width, height, channels: 3 } });
    return {
      baseline: await img().jpeg().toBuffer(),
      progressive: await img().jpeg({ progressive: true }).toBuffer(),
      png: await img().png().toBuffer(),
      gif: await img().gif().toBuffer(),
      webp: await img().webp().toBuffer(),
    };
  }

  test("complete files pass (trailing bytes after the end marker allowed); every cut of them fails", async () => {
    const files = await noisy();
    for (const [kind, full] of Object.entries(files)) {
      expect([kind, encodedImageProblem(full)]).toEqual([kind, null]);
      expect([kind, encodedImageProblem(Buffer.concat([full, Buffer.alloc(64)]))]).toEqual([kind, null]);
      await expect(validateImage(full)).resolves.toMatchObject({ image: { width: 64, height: 48 } });
      const accepted: number[] = [];
      for (let len = 16; len < full.length; len++) {
        const cut = full.subarray(0, len);
        expect(sniffImageFormat(cut)).toBe(kind === "baseline" || kind === "progressive" ? "jpeg" : kind);
        if (encodedImageProblem(cut) === null) accepted.push(len);
      }
      expect([kind, accepted]).toEqual([kind, []]);
    }
  });

  test("messages say what is missing, with the size", async () => {
    const { baseline, progressive, png, gif, webp } = await noisy();
    const half = (b: Buffer) => b.subarray(0, b.length >> 1);
    const n = (b: Buffer) => (b.length >> 1).toLocaleString("en-US");
    expect(encodedImageProblem(half(progressive))).toBe(`truncated JPEG: no EOI marker after the last scan (${n(progressive)} bytes)`);
    expect(encodedImageProblem(baseline.subarray(0, baseline.length - 2))).toMatch(/^truncated JPEG: no EOI marker after the last scan/);
    expect(encodedImageProblem(baseline.subarray(0, 30))).toMatch(/^truncated JPEG: (segment|ends)/);
    expect(encodedImageProblem(half(png))).toMatch(/^truncated PNG: .*no IEND chunk \([\d,]+ bytes\)$/);
    expect(encodedImageProblem(half(gif))).toMatch(/^truncated GIF: /);
    expect(encodedImageProblem(half(webp))).toMatch(/^truncated WebP: the RIFF header says [\d,]+ bytes, the file has [\d,]+ bytes$/);
  });

  test("a PNG with a damaged IDAT or IEND CRC, or no IDAT, is corrupt", async () => {
    const { png } = await noisy();
    const at = (type: string) => png.indexOf(Buffer.from(type, "latin1")) - 4;
    const flip = (pos: number) => {
      const b = Buffer.from(png);
      b[pos] ^= 0xff;
      return b;
    };
    const idat = at("IDAT");
    expect(encodedImageProblem(flip(idat + 8 + 5))).toMatch(/^corrupt PNG: bad CRC in IDAT chunk/);
    expect(encodedImageProblem(flip(png.length - 1))).toMatch(/^corrupt PNG: bad CRC in IEND chunk/);
    const noIdat = Buffer.concat([png.subarray(0, idat), png.subarray(png.length - 12)]);
    expect(encodedImageProblem(noIdat)).toMatch(/^corrupt PNG: IEND before any IDAT/);
  });

  test("unknown or unchecked formats are left to the decoder", async () => {
    expect(encodedImageProblem(Buffer.from("this is not a picture"))).toBeNull();
    const tiff = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#123456" } }).tiff().toBuffer();
    expect(sniffImageFormat(tiff)).toBe("tiff");
    expect(encodedImageProblem(tiff)).toBeNull();
  });
});
