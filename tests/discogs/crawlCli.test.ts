/**
 * The crawl as users run it: the CLI in a child process against the local fake Discogs, killed
 * with SIGKILL mid-run and resumed, and stopped with SIGINT.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Manifest } from "../../lib/discogs/manifest";
import { FakeDiscogs, dumpXml } from "./server";

const ROOT = path.resolve(__dirname, "..", "..");
const TOKEN = "cli-SECRET-token-9876";
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cg-crawlcli-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runCli(args: string[]): Run {
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "covergenre.js"), ...args], {
    cwd: ROOT,
    env: { ...process.env, DISCOGS_TOKEN: TOKEN },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exit };
}

function rowsIn(file: string): number {
  if (!fs.existsSync(file)) return 0;
  return fs.readFileSync(file, "utf8").split("\n").filter((l) => l.endsWith("Z")).length;
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 25));
  }
}

function masterOf(p: string): number {
  const n = Number(/\/(\d+)/.exec(p)![1]);
  return p.startsWith("/releases/") ? n / 10 : n;
}

test("kill -9 mid-run, then the same command: nothing finished is requested again, no duplicate rows", async () => {
  const N = 40;
  const server = await new FakeDiscogs({ masters: Object.fromEntries(Array.from({ length: N }, (_, i) => [i + 1, { rating: 99 }])), delayMs: 40 }).start();
  try {
    const dump = path.join(tmp, "kill.xml");
    fs.writeFileSync(dump, dumpXml(Array.from({ length: N }, (_, i) => ({ id: i + 1, genres: i % 3 ? ["Rock"] : ["Pop", "Rock"] }))));
    const out = path.join(tmp, "kill-out");
    const manifest = path.join(out, "manifest.csv");
    const args = ["crawl", "--dump", dump, "--out", out, "--api-base", server.base, "--concurrency", "2"];
    const run1 = runCli(args);
    await waitFor(() => rowsIn(manifest) >= 6, 60_000);
    run1.child.kill("SIGKILL");
    expect((await run1.exit).signal).toBe("SIGKILL");
    const killedAt = server.log.length;

    const m = Manifest.open(manifest); // repairs a torn last line if the kill hit a write
    const doneAfterKill = new Set(m.all().map((r) => r.masterId));
    m.close();
    expect(doneAfterKill.size).toBeGreaterThanOrEqual(6);
    expect(doneAfterKill.size).toBeLessThan(N);

    const run2 = runCli(args);
    const { code } = await run2.exit;
    expect(run2.stderr()).not.toMatch(/Error/);
    expect(code).toBe(0);
    const again = server.log.slice(killedAt).map((l) => masterOf(l.path)).filter((id) => doneAfterKill.has(id));
    expect(again).toEqual([]);

    const text = fs.readFileSync(manifest, "utf8");
    const ids = text.trim().split("\n").slice(1).map((l) => Number(l.split(",")[0]));
    expect(ids).toHaveLength(N);
    expect(new Set(ids).size).toBe(N);
    const m2 = Manifest.open(manifest);
    for (const r of m2.all()) {
      expect(r.status).toBe("downloaded");
      expect(fs.existsSync(path.join(out, r.path))).toBe(true);
    }
    m2.close();
    for (const s of [run1.stdout(), run1.stderr(), run2.stdout(), run2.stderr(), text]) expect(s).not.toContain(TOKEN);
    expect(run2.stdout()).toMatch(/already done \d+/);
  } finally {
    await server.stop();
  }
}, 120_000);

test("SIGINT: stops within seconds, exit 130, manifest intact, the next run finishes the job", async () => {
  const N = 16;
  const server = await new FakeDiscogs({ masters: Object.fromEntries(Array.from({ length: N }, (_, i) => [i + 1, { rating: 99, slowMs: 150 }])) }).start();
  try {
    const dump = path.join(tmp, "int.xml");
    fs.writeFileSync(dump, dumpXml(Array.from({ length: N }, (_, i) => ({ id: i + 1, genres: ["Jazz"] }))));
    const out = path.join(tmp, "int-out");
    const manifest = path.join(out, "manifest.csv");
    const args = ["crawl", "--dump", dump, "--out", out, "--api-base", server.base, "--concurrency", "2"];
    const run1 = runCli(args);
    await waitFor(() => rowsIn(manifest) >= 2, 60_000);
    const t = Date.now();
    run1.child.kill("SIGINT");
    const { code } = await run1.exit;
    const took = Date.now() - t;
    expect(code).toBe(130);
    expect(took).toBeLessThan(5_000);
    expect(run1.stderr()).toMatch(/SIGINT — stopping/);
    expect(run1.stdout()).toMatch(/interrupted: \d+ in-flight masters dropped/);
    const rows = rowsIn(manifest);
    expect(rows).toBeLessThan(N);
    expect(fs.readFileSync(manifest, "utf8").endsWith("\n")).toBe(true);

    const run2 = runCli(args);
    expect((await run2.exit).code).toBe(0);
    expect(rowsIn(manifest)).toBe(N);
  } finally {
    await server.stop();
  }
}, 120_000);
