import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { Progress, formatDuration, type ProgressOptions } from "../../lib/util/progress";
import { redactSecrets } from "../../lib/util/secrets";
import { writeFileAtomic } from "../../lib/util/fsx";
import { coverRelativePath, genreFolderName, parseCoverRelativePath, canonicalGenre, DISCOGS_GENRES } from "../../lib/discogs/genres";

/** A plain-mode Progress writing to a captured stream, on a clock the test sets. */
function capturedProgress(label: string, total: number, opts: ProgressOptions) {
  const clock = { now: 0 };
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (d) => (text += d));
  const p = new Progress(label, total, { ...opts, stream, plain: true, now: () => clock.now });
  return { p, clock, lines: () => text.trim().split("\n") };
}

describe("progress", () => {
  test("plain mode prints done/total, rate, ETA and per-status counts at most every interval", () => {
    const { p, clock, lines } = capturedProgress("features", 100, { unit: "covers", intervalMs: 10_000 });
    clock.now = 1_000;
    p.tick("ok"); // 1st line (interval elapsed since 0)
    clock.now = 2_000;
    p.tick("ok"); // suppressed: < 10 s since the last line
    clock.now = 20_000;
    p.tick("failed");
    expect(lines()).toHaveLength(2);
    expect(p.line()).toBe("features 3/100 covers 0.15/s ETA 10m47s [ok 2, failed 1]");
  });

  test("with unequal items, the ETA follows the work done, not the item count", () => {
    // 10 folds: 8 cheap (work 1 each), then 2 expensive (work 8 each) = 24 units.
    const { p, clock } = capturedProgress("study", 10, { unit: "folds", work: 24 });
    for (let i = 0; i < 8; i++) {
      clock.now += 1_000;
      p.tick("logistic", 1, 1);
    }
    // 8 of 10 folds in 8 s, but 8 of 24 units: 16 units left at 1 unit/s, not 2 folds at 1 fold/s.
    expect(p.line()).toBe("study 8/10 folds 1.00/s ETA 16s [logistic 8]");
  });

  test("slow items show the time each takes; finish() does not repeat the line just written", () => {
    const { p, clock, lines } = capturedProgress("thesis head", 2, { unit: "fits", intervalMs: 0 });
    clock.now = 200_000;
    p.tick();
    expect(p.line()).toBe("thesis head 1/2 fits 3m20s each ETA 3m20s");
    clock.now = 400_000;
    p.tick();
    p.finish();
    expect(lines()).toEqual(["thesis head 1/2 fits 3m20s each ETA 3m20s", "thesis head 2/2 fits 3m20s each in 6m40s"]);
  });

  test("formatDuration", () => {
    expect(formatDuration(12.4)).toBe("12s");
    expect(formatDuration(185)).toBe("3m05s");
    expect(formatDuration(3720)).toBe("1h02m");
    expect(formatDuration(Infinity)).toBe("?");
  });
});

describe("secrets", () => {
  test("redacts the env token anywhere, and token-looking headers/params", () => {
    const env = { DISCOGS_TOKEN: "tok_ABCDEF123" };
    expect(redactSecrets("url?x=1&token=zzz&y=2 header Discogs token=qqq, tok_ABCDEF123!", [], env)).toBe(
      "url?x=1&token=***&y=2 header Discogs token=***, ***!",
    );
  });
});

describe("atomic writes", () => {
  test("writeFileAtomic replaces the file whole and leaves no temp file", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cg-fsx-"));
    const file = path.join(dir, "a", "b.txt");
    await writeFileAtomic(file, "one");
    await writeFileAtomic(file, "two");
    expect(fs.readFileSync(file, "utf8")).toBe("two");
    expect(fs.readdirSync(path.dirname(file))).toEqual(["b.txt"]);
    fs.rmSync(dir, { recursive: true });
  });
});

describe("cover layout", () => {
  test("one genre, several genres, and the study's Funk&Soul spelling", () => {
    expect(coverRelativePath(123, ["Rock"])).toBe("Rock/123.jpeg");
    expect(coverRelativePath("9", ["Funk / Soul", "Pop"])).toBe("multi/Funk&Soul+Pop/9.jpeg");
    expect(coverRelativePath(1, ["Folk, World, & Country"])).toBe("Folk, World, & Country/1.jpeg");
    expect(parseCoverRelativePath("multi/Funk&Soul+Pop/9.jpeg")).toEqual({ id: "9", genres: ["Funk / Soul", "Pop"] });
    expect(parseCoverRelativePath("Hip Hop\\5.jpeg")).toEqual({ id: "5", genres: ["Hip Hop"] });
    expect(parseCoverRelativePath("a/b/c/d.jpeg")).toBeNull();
  });

  test("hostile genre names never leave the covers folder", () => {
    for (const name of ["../../etc", "/abs", "a/b", "..", ".", "", "x\u0000y\u0007", "multi", "A+B", "C:\\x"]) {
      const folder = genreFolderName(name);
      expect(folder).not.toMatch(/[/\\\u0000-\u001f]/);
      expect(folder).not.toMatch(/^\.+$/);
      expect(folder).not.toContain("..");
      expect(folder).not.toContain("+");
      expect(folder.toLowerCase()).not.toBe("multi");
      const rel = coverRelativePath(1, [name]);
      expect(path.posix.normalize(rel).startsWith("..")).toBe(false);
      expect(rel.split("/")).toHaveLength(2);
    }
    expect(() => coverRelativePath("../1", ["Rock"])).toThrow(/not a plain identifier/);
  });

  test("canonical genre names from other spellings", () => {
    expect(canonicalGenre("Funk&Soul")).toBe("Funk / Soul");
    expect(canonicalGenre("HipHop")).toBe("Hip Hop");
    expect(canonicalGenre("rock")).toBe("Rock");
    expect(canonicalGenre("Polka")).toBeNull();
    expect(DISCOGS_GENRES).toHaveLength(15);
  });
});
