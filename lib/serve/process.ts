/**
 * `covergenre serve` as a child process on a free port, for scripts that measure or photograph the
 * server exactly as a user starts it (bench/serve.ts, bench/serveScreenshot.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { PROJECT_ROOT } from "../paths";

/** Start `covergenre serve --port 0 --json <args>`; resolves with its URL once it prints it (the models are loaded by then). */
export function startServeProcess(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "bin", "covergenre.js"), "serve", "--port", "0", "--json", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = out.match(/"url":\s*"([^"]+)"/);
      if (m) resolve({ child, url: m[1] });
    });
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => reject(new Error(`covergenre serve exited with ${code}: ${err.trim().split("\n").slice(-3).join(" | ")}`)));
  });
}
