/**
 * `npm run screenshot:serve [-- <cover>]`: the README's pictures of `covergenre serve`, taken in
 * headless Chromium on the real checkpoint (COVERGENRE_MODEL or checkpoints/best): the page after
 * dropping a cover (docs/figures/serve.png) and the gallery (docs/figures/serve-gallery.png).
 */
import * as path from "node:path";
import { PROJECT_ROOT, checkpointsDir } from "../lib/paths";
import { withBrowser } from "../lib/report/browser";
import { startServeProcess } from "../lib/serve/process";
import { pickCovers } from "./serve";

async function main(): Promise<void> {
  const model = process.env.COVERGENRE_MODEL ?? path.join(checkpointsDir(), "best");
  const cover = process.argv[2] ?? pickCovers(1)[0];
  const out = path.join(PROJECT_ROOT, "docs", "figures");
  const { child, url } = await startServeProcess(["--model", model]);
  try {
    await withBrowser(async (browser) => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
      await page.goto(url, { waitUntil: "load" });
      await page.waitForFunction(() => !document.getElementById("model")!.textContent!.startsWith("loading"));
      await page.setInputFiles("#file", cover);
      await page.waitForSelector("#occlusion .main-svg", { timeout: 60_000 });
      await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>("#neighbours img")).every((i) => i.complete && i.naturalWidth > 0));
      await page.screenshot({ path: path.join(out, "serve.png"), fullPage: true });
      await page.click("#tab-gallery");
      await page.waitForSelector("#gallery .gallery-genre, #gallery .missing");
      await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>("#gallery img")).slice(0, 12).every((i) => i.complete && i.naturalWidth > 0), undefined, { timeout: 60_000 });
      await page.screenshot({ path: path.join(out, "serve-gallery.png"), clip: { x: 0, y: 0, width: 1400, height: 1100 } });
    });
    console.log(`screenshot:serve: ${cover} → docs/figures/serve.png, docs/figures/serve-gallery.png`);
  } finally {
    child.kill("SIGINT");
  }
}

main().catch((err) => {
  console.error(`screenshot:serve: ${err instanceof Error ? err.message : err}`);
  process.exitCode = 1;
});
