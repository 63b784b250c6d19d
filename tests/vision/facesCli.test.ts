import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { facesCommand } from "../../lib/cli/commands/faces";
import { makeContext, parseCommandArgs } from "../../lib/cli/framework";
import { packageDir } from "../../lib/util/packages";

const PORTRAIT = path.join(packageDir("@vladmandic/human"), "assets", "screenshot-faceid.jpg");

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks).toString("utf8");
}

test("covergenre faces --json: a bad file gets `error`, the others still run, exit 1", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "covergenre-faces-cli-"));
  const bad = path.join(dir, "broken.jpg");
  fs.writeFileSync(bad, "not a jpeg");
  try {
    const { values, positionals } = parseCommandArgs(facesCommand, ["--json", bad, PORTRAIT]);
    const out = new PassThrough();
    const err = new PassThrough();
    const stdout = collect(out);
    const stderr = collect(err);
    const code = await facesCommand.run(makeContext(values, positionals, out, err));
    expect(code).toBe(1);
    const doc = JSON.parse(stdout()) as { file: string; faces: { box: number[]; gender: string; emotion: Record<string, number> }[]; error?: string }[];
    expect(doc.map((d) => d.file)).toEqual([bad, PORTRAIT]);
    expect(doc[0].error).toMatch(/broken\.jpg: not a supported image/);
    expect(doc[0].faces).toEqual([]);
    expect(doc[1].error).toBeUndefined();
    expect(doc[1].faces.length).toBeGreaterThanOrEqual(1);
    expect(doc[1].faces[0].box).toHaveLength(4);
    expect(Object.keys(doc[1].faces[0].emotion)).toEqual(["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]);
    expect(stderr()).toMatch(/broken\.jpg/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("covergenre faces without files is a usage error", async () => {
  const { values, positionals } = parseCommandArgs(facesCommand, []);
  await expect(facesCommand.run(makeContext(values, positionals, new PassThrough(), new PassThrough()))).rejects.toThrow(/at least one image/);
  expect(() => parseCommandArgs(facesCommand, ["--max-faces"])).toThrow();
});
