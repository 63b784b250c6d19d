/**
 * The serve page in headless Chromium (Debian's chromium via playwright-core, as the report test):
 * choose a cover, see the genre scores with their thresholds, the occlusion map drawn over the
 * cover, the faces and the nearest covers; click another genre's bar to map it; a broken file shows
 * the server's reason. Every request stays on the server (no external network). Skips, saying why,
 * only when no Chromium is installed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import sharp from "sharp";
import { CoverModel } from "../../lib/explain/coverModel";
import { findChromium, withBrowser } from "../../lib/report/browser";
import { startServer, type RunningServer } from "../../lib/serve/server";
import { initTf } from "../../lib/tf";
import { makeServeFixture, type ServeFixture } from "./fixture";
import { CHROMIUM_PART, needs } from "../helpers/parts";

const chromium = needs({ [CHROMIUM_PART]: Boolean(findChromium()) });
const maybe = chromium.test;

describe("the serve page", () => {
  let fx: ServeFixture;
  let model: CoverModel;
  let srv: RunningServer;

  beforeAll(async () => {
    if (!chromium.present) return;
    await initTf();
    fx = await makeServeFixture();
    model = await CoverModel.load(fx.ckpt, { table: fx.table });
    srv = await startServer(model, { port: 0 });
  }, 120_000);
  afterAll(async () => {
    await srv?.close();
    model?.dispose();
    if (fx) fs.rmSync(fx.tmp, { recursive: true, force: true });
  });

  maybe("upload a cover: scores with thresholds, the map over the cover, faces and neighbours; click a bar to map that genre", async () => {
    await withBrowser(async (browser) => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const errors: string[] = [];
      const foreign: string[] = [];
      const failed: string[] = [];
      // Chromium logs every 4xx answer as a console error; those are checked one by one through `failed`.
      page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && errors.push(m.text()));
      page.on("response", (r) => r.status() >= 400 && failed.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`));
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("request", (r) => {
        const u = r.url();
        if (!u.startsWith(srv.url) && !u.startsWith("blob:") && !u.startsWith("data:")) foreign.push(u);
      });
      await page.goto(srv.url, { waitUntil: "load" });
      await page.waitForFunction(() => document.getElementById("model")!.textContent!.includes("img+face+clr"));

      await page.setInputFiles("#file", fx.covers[0]);
      await page.waitForSelector("#occlusion .main-svg", { timeout: 60_000 });
      const drawn = await page.evaluate(() => ({
        bars: document.querySelectorAll("#scores .bars .point").length,
        thresholds: document.querySelectorAll("#scores .scatterlayer .point").length,
        heatmap: document.querySelectorAll("#occlusion .heatmaplayer image").length,
        cover: Array.from(document.querySelectorAll("#occlusion .imagelayer image")).filter((i) => (i.getAttribute("href") ?? "").startsWith("blob:")).length,
        faceBoxes: document.querySelectorAll("#occlusion .shapelayer path").length,
        faceRows: document.querySelectorAll("#faces table tr").length - 1,
        why: document.getElementById("why-genre")!.textContent,
        status: document.getElementById("status")!.textContent,
        neighbours: Array.from(document.querySelectorAll<HTMLImageElement>("#neighbours img")).map((i) => i.alt),
      }));
      const k = fx.meta.genres.length;
      expect(drawn).toMatchObject({ bars: k, thresholds: k, heatmap: 1, cover: 1 });
      expect(drawn.faceRows).toBeGreaterThanOrEqual(1);
      expect(drawn.faceBoxes).toBe(drawn.faceRows);
      expect(drawn.status).toMatch(/^Done in/);
      expect(drawn.neighbours[0]).toBe(`${fx.fset.rows[0].collection}/${fx.fset.rows[0].masterId}`);
      await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>("#neighbours img")).every((i) => i.complete && i.naturalWidth > 0));
      // The map is drawn over the cover, red where hiding lowers the score, blue where it raises it: read the pixel
      // of the strongest cell (the colour scale is symmetric, so that cell is the most opaque).
      const at = await page.evaluate(() => {
        const gd = document.getElementById("occlusion") as unknown as { data: { x: number[]; y: number[]; z: number[][] }[]; _fullLayout: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
        const { x, y, z } = gd.data[0];
        let best = [0, 0];
        z.forEach((row, r) => row.forEach((v, c) => Math.abs(v) > Math.abs(z[best[0]][best[1]]) && (best = [r, c])));
        const L = gd._fullLayout;
        return { px: L.xaxis._offset + L.xaxis.l2p(x[best[1]]), py: L.yaxis._offset + L.yaxis.l2p(y[best[0]]), drop: z[best[0]][best[1]] };
      });
      expect(at.drop).not.toBe(0);
      const shot = await page.locator("#occlusion").screenshot();
      const { data, info } = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const o = (Math.round(at.py) * info.width + Math.round(at.px)) * 3;
      const [red, blue] = [data[o], data[o + 2]];
      if (at.drop > 0) expect(red).toBeGreaterThan(blue + 40);
      else expect(blue).toBeGreaterThan(red + 40);

      // Click the bar of a genre that is not the one mapped: the map is redrawn for it.
      const first = drawn.why!.split(" (")[0];
      const other = fx.meta.genres.find((g) => g !== first)!;
      const idx = [...fx.meta.genres].reverse().indexOf(other);
      await page.locator("#scores .bars .point").nth(idx).click({ force: true });
      await page.waitForFunction((g) => document.getElementById("why-genre")!.textContent!.startsWith(g), other, { timeout: 60_000 });

      // A broken file: the server's reason is shown and the page keeps working.
      const broken = path.join(fx.tmp, "broken.jpg");
      fs.writeFileSync(broken, fs.readFileSync(fx.covers[1]).subarray(0, 2000));
      await page.setInputFiles("#file", broken);
      await page.waitForFunction(() => document.getElementById("status")!.className === "error");
      expect(await page.textContent("#status")).toMatch(/uploaded image: truncated JPEG/);

      await page.click("#tab-gallery");
      await page.waitForSelector("#gallery .missing");
      expect(await page.textContent("#gallery")).toContain("covergenre study");
      expect(errors).toEqual([]);
      expect(failed).toEqual(["POST /api/predict 400"]);
      expect(foreign).toEqual([]);
    });
  }, 180_000);
});
