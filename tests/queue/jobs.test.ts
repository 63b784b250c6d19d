/** What crosses Redis: URL handling (passwords never shown), deterministic job ids, exact result encoding. */
import { parseQueueUrl, redactUrlText } from "../../lib/queue/connection";
import { decodeResult, encodeResult, featureJobId } from "../../lib/queue/jobs";
import { redactSecrets } from "../../lib/util/secrets";

describe("parseQueueUrl", () => {
  test("a password in the URL becomes ioredis options, is shown as *** and is redacted everywhere after", () => {
    const t = parseQueueUrl("redis://:p%40ss-word-1@10.0.0.5:6380/2", { env: {} });
    expect(t.connection).toMatchObject({ host: "10.0.0.5", port: 6380, password: "p@ss-word-1", db: 2, maxRetriesPerRequest: null });
    expect(t.display).toBe("redis://:***@10.0.0.5:6380/2");
    expect(redactSecrets("auth failed for p@ss-word-1 (p%40ss-word-1)")).toBe("auth failed for *** (***)");
  });

  test("the password may come from the environment instead of the command line", () => {
    const t = parseQueueUrl("redis://10.0.0.5", { env: { COVERGENRE_REDIS_PASSWORD: "from-env-secret" } });
    expect(t.connection).toMatchObject({ host: "10.0.0.5", port: 6379, password: "from-env-secret" });
    expect(t.display).toBe("redis://10.0.0.5");
    expect(redactSecrets("x from-env-secret y")).toBe("x *** y");
  });

  test("bad URLs are usage errors that never echo a password", () => {
    expect(() => parseQueueUrl("http://:hunter2-pw@host", { env: {} })).toThrow(/redis:\/\/ or rediss:\/\//);
    expect(() => parseQueueUrl("redis://:hunter2-pw@host/abc", { env: {} })).toThrow(/database number/);
    let message = "";
    try {
      parseQueueUrl("redis://:pw-in-bad-url@[bad", { env: {} });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/not a URL/);
    expect(message).not.toContain("pw-in-bad-url");
    expect(redactUrlText("connect redis://user:pw-x@h:1 failed")).toBe("connect redis://user:***@h:1 failed");
    expect(() => parseQueueUrl("redis://h", { name: "a:b", env: {} })).toThrow(/--queue-name/);
  });
});

describe("job ids", () => {
  const keys = { colour: "colour-aaa", faces: "faces-bbb", "emb:x": "emb-x-ccc" };
  test("the same content and stage keys give the same id; other stages or keys a different one; no ':'", () => {
    const id = featureJobId("ab".repeat(20), ["colour", "faces"], keys);
    expect(featureJobId("ab".repeat(20), ["colour", "faces"], { ...keys })).toBe(id);
    expect(featureJobId("ab".repeat(20), ["colour"], keys)).not.toBe(id);
    expect(featureJobId("ab".repeat(20), ["colour", "faces"], { ...keys, faces: "faces-zzz" })).not.toBe(id);
    expect(featureJobId("cd".repeat(20), ["colour", "faces"], keys)).not.toBe(id);
    expect(id).not.toContain(":");
  });
});

describe("result encoding", () => {
  test("embeddings and maps survive JSON exactly (bit for bit), errors as they were", () => {
    const pooled = new Float32Array([0.1, -0, 1e-38, 3.4e38, NaN, -7.25]);
    const map = new Uint8Array([0, 255, 17, 3]);
    const item = {
      hash: "h1",
      colour: { ok: false as const, error: "cannot decode image /x/3.jpeg: not a supported image" },
      emb: { inception_v3: { ok: true as const, value: { pooled, map, mapScale: 0.123456789 } }, other: { ok: false as const, error: "boom" } },
    };
    const wire = JSON.parse(JSON.stringify(encodeResult(item, { worker: "w", ms: { decode: 1 }, shapes: {} })));
    const back = decodeResult(wire);
    expect(back.colour).toEqual(item.colour);
    expect(back.emb.other).toEqual({ ok: false, error: "boom" });
    const e = back.emb.inception_v3;
    if (!e.ok) throw new Error("expected a value");
    expect(Buffer.from(e.value.pooled.buffer).equals(Buffer.from(pooled.buffer))).toBe(true);
    expect(Array.from(e.value.map)).toEqual(Array.from(map));
    expect(e.value.mapScale).toBe(0.123456789);
  });
});
