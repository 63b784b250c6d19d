/**
 * Running the notebooks headless (CI, `npm run notebooks`) and interactively (`covergenre lab`).
 *
 * The tslab kernel is installed project-locally (`.jupyter-local/`, git-ignored) with an absolute
 * path to this checkout's tslab binary, so it never depends on PATH or on a global install, and
 * Jupyter finds it through JUPYTER_PATH. Notebooks import lib/ as `./lib/...` through the tracked
 * symlink `notebooks/lib -> ../lib` (tslab only compiles files under the notebook's folder).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { PROJECT_ROOT } from "./paths";
import { UserError } from "./util/errors";

export const NOTEBOOKS = ["01.Crawl", "02.MakeCSV", "03.Refine_Divide", "Inception_7genre"] as const;

export const NOTEBOOKS_DIR = path.join(PROJECT_ROOT, "notebooks");
export const EXECUTED_DIR = path.join(NOTEBOOKS_DIR, "_executed");
const JUPYTER_PREFIX = path.join(PROJECT_ROOT, ".jupyter-local");
const KERNELS_DIR = path.join(JUPYTER_PREFIX, "share", "jupyter", "kernels");

function which(cmd: string): string | null {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() || null : null;
}

/**
 * The Jupyter to use. Debian's /usr/bin/jupyter first: a pyenv `python3`/`jupyter` earlier on PATH
 * often has no nbconvert. `COVERGENRE_JUPYTER` overrides.
 */
export function findJupyter(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.COVERGENRE_JUPYTER) return env.COVERGENRE_JUPYTER;
  if (fs.existsSync("/usr/bin/jupyter")) return "/usr/bin/jupyter";
  return which("jupyter");
}

function tslabBinary(): string {
  return path.join(PROJECT_ROOT, "node_modules", ".bin", "tslab");
}

function kernelSpecPath(): string {
  return path.join(KERNELS_DIR, "tslab", "kernel.json");
}

export function jupyterStatus(env: NodeJS.ProcessEnv = process.env): { jupyter: string | null; nbconvert: boolean; tslabKernel: boolean } {
  const jupyter = findJupyter(env);
  let nbconvert = false;
  if (jupyter) nbconvert = spawnSync(jupyter, ["nbconvert", "--version"], { encoding: "utf8" }).status === 0;
  return { jupyter, nbconvert, tslabKernel: kernelIsInstalled() };
}

function kernelIsInstalled(): boolean {
  try {
    const spec = JSON.parse(fs.readFileSync(kernelSpecPath(), "utf8")) as { argv: string[] };
    return spec.argv[0] === tslabBinary();
  } catch {
    return false;
  }
}

/** The environment Jupyter must run with to see the project-local kernel. */
export function jupyterEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const jupyterPath = [path.join(JUPYTER_PREFIX, "share", "jupyter"), env.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
  const binPath = [path.join(PROJECT_ROOT, "node_modules", ".bin"), env.PATH].filter(Boolean).join(path.delimiter);
  // Never let a token reach notebook outputs through the kernel's environment by accident: the crawl
  // notebook reads it explicitly and only reports whether it is set.
  return { ...env, JUPYTER_PATH: jupyterPath, PATH: binPath };
}

/** Install the tslab kernel into `.jupyter-local/` (idempotent). */
export function ensureKernel(log: (s: string) => void = () => {}): void {
  if (kernelIsInstalled()) return;
  const jupyter = findJupyter();
  if (!jupyter) {
    throw new UserError(
      "Jupyter is not installed. On Debian/Ubuntu: apt-get install -y --no-install-recommends jupyter-notebook jupyter-nbconvert python3-nbconvert python3-ipykernel jupyter-client",
    );
  }
  // tslab's installer runs `<python> -m jupyter kernelspec install`; use the Python that owns this Jupyter.
  const python = fs.existsSync("/usr/bin/python3") && jupyter.startsWith("/usr/bin/") ? "/usr/bin/python3" : which("python3") ?? "python3";
  log(`installing the tslab kernel into ${JUPYTER_PREFIX}`);
  execFileSync(tslabBinary(), ["install", `--python=${python}`, `--prefix=${JUPYTER_PREFIX}`, `--binary=${tslabBinary()}`], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (!kernelIsInstalled()) throw new Error(`tslab install ran but ${kernelSpecPath()} is not there`);
}

export interface NotebookRun {
  notebook: string;
  ok: boolean;
  seconds: number;
  output: string;
  /** Cells that printed to stderr (warnings) — reported, not fatal. */
  stderrCells: number;
  error?: string;
}

/**
 * Execute notebooks headless with nbconvert, writing executed copies to `notebooks/_executed/`
 * (git-ignored). A cell that throws, or a TypeScript error, fails that notebook.
 */
export async function runNotebooks(
  names: readonly string[] = NOTEBOOKS,
  opts: { env?: NodeJS.ProcessEnv; timeoutSeconds?: number; log?: (s: string) => void; outDir?: string } = {},
): Promise<NotebookRun[]> {
  const log = opts.log ?? (() => {});
  ensureKernel(log);
  const jupyter = findJupyter()!;
  const outDir = opts.outDir ? path.resolve(opts.outDir) : EXECUTED_DIR;
  fs.mkdirSync(outDir, { recursive: true });
  const results: NotebookRun[] = [];
  for (const name of names) {
    const file = path.join(NOTEBOOKS_DIR, `${name}.ipynb`);
    if (!fs.existsSync(file)) throw new UserError(`no notebook ${file} (known: ${NOTEBOOKS.join(", ")})`);
    const started = Date.now();
    log(`executing ${name}.ipynb …`);
    // --allow-errors: nbconvert always writes the executed copy, so we can report the failing cell with
    // its own output (tslab prints type errors as the cell's stream output and an empty error).
    const args = [
      "nbconvert",
      "--to",
      "notebook",
      "--execute",
      "--allow-errors",
      "--ExecutePreprocessor.kernel_name=tslab",
      `--ExecutePreprocessor.timeout=${opts.timeoutSeconds ?? 3600}`,
      "--output-dir",
      outDir,
      file,
    ];
    const executed = path.join(outDir, `${name}.ipynb`);
    fs.rmSync(executed, { force: true });
    const { code, output } = await runProcess(jupyter, args, { cwd: NOTEBOOKS_DIR, env: jupyterEnv(opts.env) });
    const seconds = (Date.now() - started) / 1000;
    let stderrCells = 0;
    let error: string | undefined;
    if (code === 0 && fs.existsSync(executed)) {
      const found = inspectExecuted(JSON.parse(fs.readFileSync(executed, "utf8")));
      stderrCells = found.stderrCells;
      error = found.error;
    } else {
      error = lastLines(output, 25);
    }
    const ok = code === 0 && !error;
    results.push({ notebook: name, ok, seconds, output, stderrCells, ...(error ? { error } : {}) });
    log(`${ok ? "ok  " : "FAIL"} ${name}.ipynb in ${seconds.toFixed(1)} s${stderrCells ? ` (${stderrCells} cells wrote to stderr)` : ""}`);
    if (!ok) log(error ?? "");
  }
  return results;
}

type NotebookJson = {
  cells: Array<{
    cell_type: string;
    source: string | string[];
    outputs?: Array<{ output_type: string; name?: string; text?: string | string[]; ename?: string; evalue?: string; data?: Record<string, unknown> }>;
  }>;
};

const joinText = (t: string | string[] | undefined): string => (Array.isArray(t) ? t.join("") : t ?? "");

/** What an executed notebook shows, counted from its outputs (see {@link executedOutputs}). */
export interface ExecutedOutputs {
  /** Code cells that wrote to stderr (a notebook shows each as a warning block). */
  stderrCells: number;
  /** What they wrote: "code cell N: first line", one per cell. */
  stderr: string[];
  /** Tables in HTML outputs (figures' outputs excluded). */
  htmlTables: number;
  /** Figures: outputs carrying the plotly MIME type; of those, how many also carry the HTML fallback. */
  figures: number;
  figuresWithHtml: number;
  /** HTML outputs that draw a plotly figure without the plotly MIME type (the old, HTML-only way). */
  htmlOnlyFigures: number;
  /** Stream outputs that look like a text table (box drawing, as danfo's print() writes). */
  textTables: number;
}

const BOX_DRAWING = /[\u2550-\u256c\u2500-\u253c]{3}/;

/** An uncaught error's trace: "SomethingError: message" followed by a stack line. */
const UNCAUGHT_TRACE = /^\s*[A-Za-z]*Error: .*\n\s+at /m;

/** The first failing cell of an executed notebook (number, first source line, its output), and stderr count. */
export function inspectExecuted(nb: NotebookJson): { error?: string; stderrCells: number } {
  let stderrCells = 0;
  let error: string | undefined;
  let codeCell = 0;
  for (const cell of nb.cells) {
    if (cell.cell_type !== "code") continue;
    codeCell++;
    const outs = cell.outputs ?? [];
    if (outs.some((o) => o.output_type === "stream" && o.name === "stderr")) stderrCells++;
    // tslab reports a rejected top-level await as an error trace on stderr, not as an error output:
    // such a cell failed too, or a notebook whose data is missing would pass headless.
    const trace = outs.filter((o) => o.output_type === "stream" && o.name === "stderr").map((o) => joinText(o.text)).find((t) => UNCAUGHT_TRACE.test(t));
    if (trace && !error) {
      const firstLine = joinText(cell.source).split("\n")[0];
      error = `code cell ${codeCell} (${firstLine}) failed:\n${lastLines(trace.trim(), 15)}`;
    }
    const err = outs.find((o) => o.output_type === "error");
    if (err && !error) {
      const printed = outs.filter((o) => o.output_type === "stream").map((o) => joinText(o.text)).join("").trim();
      const firstLine = joinText(cell.source).split("\n")[0];
      error = [`code cell ${codeCell} (${firstLine}) failed: ${err.ename ?? "Error"}: ${err.evalue ?? ""}`.trim(), lastLines(printed, 15)]
        .filter(Boolean)
        .join("\n");
    }
  }
  return { error, stderrCells };
}

/** The tables and figures an executed notebook shows, and what would read badly (stderr blocks, text tables). */
export function executedOutputs(nb: NotebookJson): ExecutedOutputs {
  const r: ExecutedOutputs = { stderrCells: 0, stderr: [], htmlTables: 0, figures: 0, figuresWithHtml: 0, htmlOnlyFigures: 0, textTables: 0 };
  let codeCell = 0;
  for (const cell of nb.cells) {
    if (cell.cell_type !== "code") continue;
    codeCell++;
    const outs = cell.outputs ?? [];
    const err = outs.filter((o) => o.output_type === "stream" && o.name === "stderr").map((o) => joinText(o.text)).join("");
    if (err) {
      r.stderrCells++;
      r.stderr.push(`code cell ${codeCell}: ${err.trim().split("\n")[0]}`);
    }
    for (const o of outs) {
      if (o.output_type === "stream" && BOX_DRAWING.test(joinText(o.text))) r.textTables++;
      const data = o.data ?? {};
      const html = joinText(data["text/html"] as string | string[] | undefined);
      if ("application/vnd.plotly.v1+json" in data) {
        r.figures++;
        if (html.includes("Plotly.newPlot")) r.figuresWithHtml++;
      } else if (html.includes("Plotly.newPlot")) {
        r.htmlOnlyFigures++;
      } else if (html) {
        r.htmlTables += (html.match(/<table[\s>]/g) ?? []).length;
      }
    }
  }
  return r;
}

/**
 * Render an executed notebook to HTML with nbconvert (what CI and a reader without Jupyter can open),
 * into `outDir`; returns the HTML file's path. Throws with nbconvert's output when it fails.
 */
export async function exportNotebookHtml(executedFile: string, outDir: string, opts: { env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const jupyter = findJupyter();
  if (!jupyter) throw new UserError("Jupyter is not installed (needed for nbconvert)");
  fs.mkdirSync(outDir, { recursive: true });
  const { code, output } = await runProcess(jupyter, ["nbconvert", "--to", "html", "--output-dir", path.resolve(outDir), path.resolve(executedFile)], {
    cwd: path.dirname(path.resolve(executedFile)),
    env: jupyterEnv(opts.env),
  });
  const file = path.join(path.resolve(outDir), path.basename(executedFile).replace(/\.ipynb$/, ".html"));
  if (code !== 0 || !fs.existsSync(file)) throw new Error(`nbconvert --to html failed for ${executedFile}:\n${lastLines(output, 20)}`);
  return file;
}

function lastLines(text: string, n: number): string {
  return text.trim().split("\n").slice(-n).join("\n");
}

function runProcess(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
    child.on("error", (err) => resolve({ code: 1, output: String(err) }));
  });
}

/** Start Jupyter Notebook on the notebooks folder with the project kernel (interactive use). */
export function startJupyter(extraArgs: string[] = []): Promise<number> {
  ensureKernel((s) => process.stderr.write(s + "\n"));
  const jupyter = findJupyter()!;
  return new Promise((resolve) => {
    const child = spawn(jupyter, ["notebook", ...extraArgs], { cwd: NOTEBOOKS_DIR, env: jupyterEnv(), stdio: "inherit" });
    child.on("close", (code) => resolve(code ?? 0));
  });
}
