/**
 * A throw-away `redis-server` (Debian's package) on a free 127.0.0.1 port, with no persistence:
 * what the queue tests and `npm run bench:queue` run against, so they exercise the real thing and
 * never touch a Redis the machine may already run.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as net from "node:net";

export interface LocalRedis {
  port: number;
  /** redis://[:password@]127.0.0.1:<port> */
  url: string;
  /** `INFO <section>` as key → value. */
  info(section: string): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/** Whether `redis-server` is installed (tests skip with a message when it is not). */
export function haveRedisServer(): boolean {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Start redis-server (optionally with `requirepass`) and wait until it answers. */
export async function startLocalRedis(opts: { password?: string } = {}): Promise<LocalRedis> {
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...(opts.password ? ["--requirepass", opts.password] : [])];
  const child: ChildProcess = spawn("redis-server", args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const command = (line: string) => redisCommand(port, opts.password, line);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (code ${child.exitCode}): ${stderr.trim()}`);
    try {
      if ((await command("PING")).includes("PONG")) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server did not answer on 127.0.0.1:${port} within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: `redis://${opts.password ? `:${encodeURIComponent(opts.password)}@` : ""}127.0.0.1:${port}`,
    async info(section) {
      const text = await command(`INFO ${section}`);
      return Object.fromEntries(text.split("\r\n").filter((l) => l.includes(":")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]));
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      });
    },
  };
}

/** One inline command over a plain socket (AUTH first when needed); returns the raw reply. */
function redisCommand(port: number, password: string | undefined, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let buf = "";
    const lines = [...(password ? [`AUTH ${password}`] : []), line, "QUIT"];
    sock.on("connect", () => sock.write(lines.join("\r\n") + "\r\n"));
    sock.on("data", (d) => (buf += d.toString()));
    sock.on("end", () => resolve(buf));
    sock.on("error", reject);
    sock.setTimeout(5000, () => sock.destroy(new Error("redis-server did not reply")));
  });
}
