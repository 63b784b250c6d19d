/**
 * A tiny synthetic crawl for pipeline tests: `<Genre>/<id>.jpeg` (and one `multi/<A+B>/`) made with
 * sharp, some with a real photo of a person (from Human's package assets) so the faces population
 * is not empty.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import sharp from "sharp";
import { coverRelativePath } from "../../lib/discogs/genres";
import { packageDir } from "../../lib/util/packages";

export const SAMPLE_GENRES = ["Electronic", "Rock", "Pop", "Hip Hop", "Folk, World, & Country"];

/** Two people cropped from Human's samples.jpg strip (x, width): used as "band photos". */
const PEOPLE: [number, number][] = [
  [160, 160],
  [330, 205],
];

async function personPhoto(i: number): Promise<Buffer> {
  const [left, width] = PEOPLE[i % PEOPLE.length];
  const src = path.join(packageDir("@vladmandic/human"), "assets", "samples.jpg");
  return sharp(src).extract({ left, top: 0, width, height: 158 }).resize(200, 200, { fit: "cover" }).jpeg().toBuffer();
}

/**
 * Write `perGenre` covers for each genre under `dir` (crawl layout); every other cover shows a person.
 * Genres differ in hue and pattern so a head has something to learn. Returns the cover count.
 */
export async function makeSyntheticCrawl(dir: string, perGenre = 4, genres = SAMPLE_GENRES): Promise<number> {
  let id = 1000;
  let n = 0;
  for (const [gi, genre] of genres.entries()) {
    for (let k = 0; k < perGenre; k++) {
      const hue = gi * 70 + k * 6;
      const stripes = Array.from({ length: 3 + gi }, (_, s) => `<rect x="0" y="${s * 40}" width="300" height="${8 + gi * 3}" fill="hsl(${(hue + 180) % 360},80%,${30 + k * 8}%)"/>`).join("");
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300"><rect width="300" height="300" fill="hsl(${hue},70%,${35 + k * 5}%)"/>${stripes}</svg>`;
      const layers = k % 2 === 0 ? [{ input: await personPhoto(k / 2 + gi), left: 50, top: 60 }] : [];
      const rel = coverRelativePath(String(id++), [genre]);
      const file = path.join(dir, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      await sharp(Buffer.from(svg)).composite(layers).jpeg({ quality: 85 }).toFile(file);
      n++;
    }
  }
  // one multi-genre cover
  const rel = coverRelativePath(String(id++), [genres[0], genres[1]]);
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  await sharp({ create: { width: 300, height: 300, channels: 3, background: { r: 200, g: 40, b: 90 } } }).composite([{ input: await personPhoto(1), left: 40, top: 40 }]).jpeg().toFile(path.join(dir, rel));
  return n + 1;
}
