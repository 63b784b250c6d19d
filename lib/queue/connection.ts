/**
 * The Redis URL of a feature queue: parsed once into ioredis options, its password registered as a
 * secret (lib/util/secrets.ts), and shown only in its redacted form. The password may come from
 * `COVERGENRE_REDIS_PASSWORD` instead of the URL, so it need not appear on a command line (`ps`
 * shows those to every user of the machine).
 */
import type { ConnectionOptions } from "bullmq";
import IORedis, { type RedisOptions } from "ioredis";
import { describeError, UsageError, UserError } from "../util/errors";
import { registerSecret } from "../util/secrets";

export interface QueueTarget {
  /** ioredis options for BullMQ (maxRetriesPerRequest null: BullMQ's blocking calls need it). */
  connection: ConnectionOptions;
  /** The URL with any password replaced by `***`: the only form that is ever printed. */
  display: string;
  /** Prefix of the queues' names: `<name>-features` (work) and `<name>-results` (outputs). */
  name: string;
}

/** The two BullMQ queues of one feature queue name. */
export function queueNames(name: string): { features: string; results: string } {
  return { features: `${name}-features`, results: `${name}-results` };
}

/**
 * Parse `redis://[user][:password]@host[:port][/db]` (or `rediss://` for TLS). A bad URL is a
 * UsageError that shows the redacted form only.
 */
export function parseQueueUrl(raw: string, opts: { name?: string; env?: NodeJS.ProcessEnv } = {}): QueueTarget {
  const env = opts.env ?? process.env;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--queue: not a URL (expected redis://[:password@]host[:port][/db]): ${redactUrlText(raw)}`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new UsageError(`--queue: expected a redis:// or rediss:// URL, got ${url.protocol}//…`);
  const password = url.password ? decodeURIComponent(url.password) : env.COVERGENRE_REDIS_PASSWORD || undefined;
  registerSecret(password);
  registerSecret(url.password || undefined); // also the percent-encoded form, as it appears in the URL
  const db = url.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) throw new UsageError(`--queue: the path of a Redis URL is a database number, got "/${db}"`);
  const name = opts.name ?? "covergenre";
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new UsageError(`--queue-name: letters, digits, _ . - only, got "${name}"`);
  const shown = new URL(url.toString());
  if (shown.password) shown.password = "***";
  return {
    connection: {
      host: url.hostname || "127.0.0.1",
      port: url.port ? Number(url.port) : 6379,
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(password ? { password } : {}),
      ...(db ? { db: Number(db) } : {}),
      ...(url.protocol === "rediss:" ? { tls: {} } : {}),
      maxRetriesPerRequest: null,
    },
    display: shown.toString(),
    name,
  };
}

/** Any `scheme://user:password@` in free text with the password replaced (for text that is not a parseable URL). */
export function redactUrlText(text: string): string {
  return text.replace(/(\w+:\/\/[^:/@\s]*:)[^@\s]*@/g, "$1***@");
}

/**
 * Connect once, without retries, and fail with a clear error (wrong password, nothing listening)
 * — BullMQ itself reconnects forever, which would leave a misconfigured worker silently waiting.
 * Also warns when Redis may evict keys (`maxmemory-policy` other than noeviction loses jobs).
 */
export async function checkRedis(target: QueueTarget, log: (line: string) => void): Promise<void> {
  const client = new IORedis({ ...(target.connection as RedisOptions), maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true, connectTimeout: 10_000 });
  // The reason (WRONGPASS, ECONNREFUSED) comes as an event; the call itself only says "Connection is closed".
  let lastError: unknown = null;
  client.on("error", (err) => (lastError = err));
  try {
    await client.connect();
    await client.ping();
    const policy = (await client.config("GET", "maxmemory-policy").catch(() => [])) as string[];
    if (policy[1] && policy[1] !== "noeviction") log(`queue: Redis at ${target.display} has maxmemory-policy ${policy[1]}: jobs may be evicted; set noeviction`);
  } catch (err) {
    throw new UserError(`cannot use Redis at ${target.display}: ${redactUrlText(describeError(lastError ?? err))}`);
  } finally {
    client.disconnect();
  }
}
