import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT, detectCoversLayout, resolveCollections, resolveCovers, resolveDataRoot } from "../../lib/paths";
import { UserError } from "../../lib/util/errors";

/** A fake workspace: <tmp>/project (the checkout) and optionally <tmp>/shared/data beside it. */
function labelledFolder(dir: string): void {
  fs.mkdirSync(path.join(dir, "images"), { recursive: true });
  fs.writeFileSync(path.join(dir, "labels.csv"), "id,genres\n");
}

function workspace(opts: { shared?: boolean; crawl?: boolean; sharedCovers?: boolean; popular?: boolean } = {}) {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), "cg-paths-"));
  const project = path.join(top, "project");
  fs.mkdirSync(path.join(project, "datasets"), { recursive: true });
  if (opts.shared) fs.mkdirSync(path.join(top, "shared", "data"), { recursive: true });
  if (opts.sharedCovers) {
    fs.mkdirSync(path.join(top, "shared", "data", "discogs-covers", "images"), { recursive: true });
    fs.writeFileSync(path.join(top, "shared", "data", "discogs-covers", "labels.csv"), "release_id,genres,file\n");
  }
  if (opts.popular) {
    labelledFolder(path.join(top, "shared", "data", "discogs-popular-covers"));
    // Folders of the data root that are not collections: no labels.csv, or no images/.
    fs.mkdirSync(path.join(top, "shared", "data", "faces", "photos"), { recursive: true });
    fs.mkdirSync(path.join(top, "shared", "data", "thesis"), { recursive: true });
    fs.writeFileSync(path.join(top, "shared", "data", "thesis", "labels.csv"), "id,genres\n");
  }
  if (opts.crawl) {
    fs.mkdirSync(path.join(project, "datasets", "covers", "Rock"), { recursive: true });
    fs.writeFileSync(path.join(project, "datasets", "covers", "Rock", "1.jpeg"), "");
  }
  return { top, project, cleanup: () => fs.rmSync(top, { recursive: true, force: true }) };
}

describe("data root", () => {
  test("the project root is the checkout holding package.json", () => {
    expect(JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")).name).toBe("covergenre");
  });

  test("precedence: --data > COVERGENRE_DATA > ../shared/data > datasets/", () => {
    const w = workspace({ shared: true });
    try {
      expect(resolveDataRoot({ data: "/x/flag", env: { COVERGENRE_DATA: "/x/env" }, projectRoot: w.project })).toEqual({ dir: "/x/flag", source: "flag" });
      expect(resolveDataRoot({ env: { COVERGENRE_DATA: "/x/env" }, projectRoot: w.project })).toEqual({ dir: "/x/env", source: "env" });
      expect(resolveDataRoot({ env: {}, projectRoot: w.project })).toEqual({ dir: path.join(w.top, "shared", "data"), source: "shared" });
    } finally {
      w.cleanup();
    }
    const bare = workspace();
    try {
      expect(resolveDataRoot({ env: {}, projectRoot: bare.project })).toEqual({ dir: path.join(bare.project, "datasets"), source: "datasets" });
    } finally {
      bare.cleanup();
    }
  });
});

describe("covers", () => {
  test("a user's own crawl in datasets/covers comes first, then every labelled collection of the data root", () => {
    const w = workspace({ sharedCovers: true, crawl: true, popular: true });
    try {
      const loc = resolveCovers({ env: {}, projectRoot: w.project });
      expect(loc).toEqual({ name: "covers", dir: path.join(w.project, "datasets", "covers"), layout: "crawl", source: "crawl" });
      const all = resolveCollections({ env: {}, projectRoot: w.project });
      expect(all.map((c) => [c.name, c.layout, c.source])).toEqual([
        ["covers", "crawl", "crawl"],
        ["discogs-covers", "labelled", "data-root"],
        ["discogs-popular-covers", "labelled", "data-root"],
      ]);
    } finally {
      w.cleanup();
    }
  });

  test("--covers is repeatable, COVERGENRE_COVERS takes a path-delimited list, and two folders may not share a name", () => {
    const w = workspace({ sharedCovers: true, popular: true });
    try {
      const a = path.join(w.top, "shared", "data", "discogs-covers");
      const b = path.join(w.top, "shared", "data", "discogs-popular-covers");
      expect(resolveCollections({ covers: [b, a], env: {}, projectRoot: w.project }).map((c) => [c.name, c.source])).toEqual([["discogs-popular-covers", "flag"], ["discogs-covers", "flag"]]);
      expect(resolveCollections({ env: { COVERGENRE_COVERS: [a, b].join(path.delimiter) }, projectRoot: w.project }).map((c) => [c.dir, c.source])).toEqual([[a, "env"], [b, "env"]]);
      const twin = path.join(w.top, "elsewhere", "discogs-covers");
      labelledFolder(twin);
      expect(() => resolveCollections({ covers: [a, twin], env: {}, projectRoot: w.project })).toThrow(/both named "discogs-covers".*rename one/);
      expect(() => resolveCollections({ covers: [a, a], env: {}, projectRoot: w.project })).toThrow(/given twice/);
    } finally {
      w.cleanup();
    }
  });

  test("falls back to <data root>/discogs-covers and detects the labelled layout", () => {
    const w = workspace({ sharedCovers: true });
    try {
      const loc = resolveCovers({ env: {}, projectRoot: w.project });
      expect(loc.source).toBe("data-root");
      expect(loc.layout).toBe("labelled");
      expect(loc.dir).toBe(path.join(w.top, "shared", "data", "discogs-covers"));
    } finally {
      w.cleanup();
    }
  });

  test("--covers must exist; COVERGENRE_COVERS is honoured", () => {
    const w = workspace({ crawl: true });
    try {
      expect(() => resolveCovers({ covers: path.join(w.top, "nope"), env: {}, projectRoot: w.project })).toThrow(/does not exist/);
      const viaEnv = resolveCovers({ env: { COVERGENRE_COVERS: path.join(w.project, "datasets", "covers") }, projectRoot: w.project });
      expect(viaEnv.source).toBe("env");
      expect(detectCoversLayout(viaEnv.dir)).toBe("crawl");
    } finally {
      w.cleanup();
    }
  });

  test("with no covers anywhere the error says how to get them", () => {
    const w = workspace();
    try {
      let err: unknown;
      try {
        resolveCovers({ env: {}, projectRoot: w.project });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(/DISCOGS_TOKEN=.*covergenre crawl/);
      expect((err as Error).message).toMatch(/--covers <dir>/);
    } finally {
      w.cleanup();
    }
  });
});
