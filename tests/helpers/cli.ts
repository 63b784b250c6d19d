/** Running the CLI from tests: in-process through `main` with captured streams, or as a real process. */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { PROJECT_ROOT } from "../../lib/paths";

export const BIN = path.join(PROJECT_ROOT, "bin", "covergenre.js");

/** Streams to pass to `main(args, out, err)`, and what was written to them. */
export function capture() {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = "";
  let e = "";
  out.on("data", (d) => (o += d));
  err.on("data", (d) => (e += d));
  return { out, err, text: () => ({ stdout: o, stderr: e }) };
}

/** `node bin/covergenre.js …` in the project root; resolves with the exit code and both streams. */
export function runBin(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, cwd: PROJECT_ROOT, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}
