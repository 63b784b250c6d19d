/**
 * Headless Chromium for two jobs: checking that a generated page really renders (every plotly
 * figure drawn, every image decoded, no console errors), and exporting figures as PNG for the README
 * (`Plotly.toImage`). Uses the system's Chromium (Debian package `chromium`) driven by
 * playwright-core with `executablePath`: nothing is downloaded.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { figureHtml, plotlyScript, type Figure } from "../plot";
import { UserError } from "../util/errors";
import { writeFileAtomic } from "../util/fsx";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

/** Path of a Chromium/Chrome binary: `COVERGENRE_CHROMIUM` > the usual Debian/Ubuntu paths; null if none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.COVERGENRE_CHROMIUM) return fs.existsSync(env.COVERGENRE_CHROMIUM) ? env.COVERGENRE_CHROMIUM : null;
  return CANDIDATES.find((p) => fs.existsSync(p)) ?? null;
}

const INSTALL_HINT = "Install it with: apt-get install -y --no-install-recommends chromium (or set COVERGENRE_CHROMIUM to a Chrome/Chromium binary)";

/** Launch headless Chromium, run `fn`, always close it. */
export async function withBrowser<T>(fn: (browser: Browser) => Promise<T>): Promise<T> {
  const exe = findChromium();
  if (!exe) throw new UserError(`No Chromium found. ${INSTALL_HINT}`);
  let pw: typeof import("playwright-core");
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    pw = require("playwright-core");
  } catch {
    throw new UserError("playwright-core is not installed (it is a devDependency: run npm install without --omit=dev)");
  }
  // --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
  const browser = await pw.chromium.launch({ executablePath: exe, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  try {
    return await fn(browser);
  } finally {
    await browser.close();
  }
}

export interface PageCheck {
  url: string;
  consoleErrors: string[];
  /** One entry per `.cg-figure` div: whether plotly drew its `.main-svg`. */
  figures: { id: string; rendered: boolean }[];
  /** One entry per <img>: whether it decoded (naturalWidth > 0). */
  images: { alt: string; loaded: boolean; naturalWidth: number }[];
}

/**
 * Load a page (file path or URL) and report what rendered. Waits until every figure div has its
 * SVG or `timeoutMs` passes (then the missing ones are reported, not thrown).
 */
export async function checkPage(target: string, opts: { timeoutMs?: number } = {}): Promise<PageCheck> {
  const url = /^[a-z]+:\/\//i.test(target) ? target : pathToFileURL(path.resolve(target)).href;
  return withBrowser(async (browser) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const consoleErrors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => consoleErrors.push(`request failed: ${r.url().slice(0, 120)} (${r.failure()?.errorText ?? "?"})`));
    // timeoutMs bounds the wait for figures only: loading the page (plotly is 4 MB inline) can take
    // seconds on a loaded machine, and a short figure wait must not turn into a navigation failure.
    await page.goto(url, { waitUntil: "load", timeout: 60_000 });
    await page
      .waitForFunction(() => Array.from(document.querySelectorAll(".cg-figure")).every((d) => d.querySelector(".main-svg")), undefined, {
        timeout: opts.timeoutMs ?? 30_000,
      })
      .catch(() => undefined);
    const result = await page.evaluate(() => ({
      figures: Array.from(document.querySelectorAll(".cg-figure")).map((d) => ({ id: d.id, rendered: Boolean(d.querySelector(".main-svg")) })),
      images: Array.from(document.querySelectorAll("img")).map((i) => ({ alt: i.alt, loaded: i.complete && i.naturalWidth > 0, naturalWidth: i.naturalWidth })),
    }));
    return { url, consoleErrors, ...result };
  });
}

/**
 * Render figures to PNG files with Plotly.toImage in one browser session (≈ 2.5 s for the first,
 * less for the next). Returns the written paths.
 */
export async function exportFiguresPng(
  items: { figure: Figure; file: string }[],
  opts: { width?: number; height?: number; scale?: number } = {},
): Promise<string[]> {
  if (!items.length) return [];
  const tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), "covergenre-png-"));
  try {
    const page = path.join(tmp, "page.html");
    await fs.promises.writeFile(page, `<!DOCTYPE html><html><head><meta charset="utf-8">${plotlyScript()}</head><body></body></html>`);
    return await withBrowser(async (browser) => {
      const p = await browser.newPage();
      await p.goto(pathToFileURL(page).href, { waitUntil: "load" });
      const written: string[] = [];
      for (const { figure, file } of items) {
        const layout = (figure.layout ?? {}) as { height?: number; width?: number };
        const width = opts.width ?? layout.width ?? 1000;
        const height = opts.height ?? layout.height ?? 500;
        const dataUrl: string = await p.evaluate(
          async ({ fig, width, height, scale }) => {
            const div = document.createElement("div");
            document.body.appendChild(div);
            const P = (window as unknown as { Plotly: any }).Plotly; // eslint-disable-line @typescript-eslint/no-explicit-any
            await P.newPlot(div, fig.data, { ...(fig.layout ?? {}), width, height }, { staticPlot: true });
            const url = await P.toImage(div, { format: "png", width, height, scale });
            P.purge(div);
            div.remove();
            return url as string;
          },
          { fig: figure, width, height, scale: opts.scale ?? 1 },
        );
        const b64 = dataUrl.replace(/^data:image\/png;base64,/, "");
        await writeFileAtomic(file, Buffer.from(b64, "base64"));
        written.push(file);
      }
      return written;
    });
  } finally {
    await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}

/** One figure to one PNG file (see {@link exportFiguresPng}). */
export async function exportFigurePng(figure: Figure, file: string, opts: { width?: number; height?: number; scale?: number } = {}): Promise<string> {
  const [out] = await exportFiguresPng([{ figure, file }], opts);
  return out;
}

/** A standalone page with plotly and the given figures (for checks and quick looks). */
export function figuresPage(figs: Figure[]): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8">${plotlyScript()}</head><body>${figs.map((f) => figureHtml(f)).join("\n")}</body></html>`;
}
