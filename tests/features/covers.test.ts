import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { listCovers } from "../../lib/features/covers";

function touch(root: string, rel: string, content = "x"): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), content);
}

describe("listCovers", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "covers-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("crawl layout: genre folders, multi folders, non-images ignored, odd paths skipped, stable order", async () => {
    touch(dir, "Rock/2.jpeg");
    touch(dir, "Rock/1.jpeg");
    touch(dir, "Funk&Soul/3.jpeg");
    touch(dir, "multi/Pop+Rock/4.jpeg");
    touch(dir, "multi/Folk, World, & Country+Jazz/5.png");
    touch(dir, "Rock/notes.txt");
    touch(dir, "manifest.csv");
    touch(dir, "stray.jpg"); // not in the layout
    touch(dir, ".hidden/6.jpeg");
    const l = await listCovers(dir, "crawl");
    expect(l.layout).toBe("crawl");
    expect(l.covers.map((c) => c.path)).toEqual(["Funk&Soul/3.jpeg", "Rock/1.jpeg", "Rock/2.jpeg", "multi/Folk, World, & Country+Jazz/5.png", "multi/Pop+Rock/4.jpeg"]);
    const byId = Object.fromEntries(l.covers.map((c) => [c.masterId, c]));
    expect(byId["3"].genres).toEqual(["Funk / Soul"]);
    expect(byId["4"].genres).toEqual(["Pop", "Rock"]);
    expect(byId["5"].genres).toEqual(["Folk, World, & Country", "Jazz"]);
    expect(byId["1"].absPath).toBe(path.join(dir, "Rock/1.jpeg"));
    expect(l.skipped).toEqual(["stray.jpg"]);
    expect(l.unknownGenres).toEqual([]);
  });

  test("labelled layout: labels.csv with quoted, |-separated genres; unlabelled images still listed", async () => {
    touch(dir, "images/10.jpg");
    touch(dir, "images/11.jpg");
    touch(dir, "images/99.jpg");
    touch(dir, "images/readme.txt");
    fs.writeFileSync(
      path.join(dir, "labels.csv"),
      'release_id,genres,file,source_file\n10,Rock,images/10.jpg,a\n11,"Folk, World, & Country|Hip Hop",images/11.jpg,b\n012,Electronic,images/012.jpg,c\n',
    );
    const l = await listCovers(dir);
    expect(l.layout).toBe("labelled");
    expect(l.covers.map((c) => [c.masterId, c.path, c.genres])).toEqual([
      ["10", "images/10.jpg", ["Rock"]],
      ["11", "images/11.jpg", ["Folk, World, & Country", "Hip Hop"]],
      ["012", "images/012.jpg", ["Electronic"]], // listed though missing: its row will carry the error
      ["99", "images/99.jpg", []],
    ]);
  });

  test("labels.csv pointing outside the folder is refused", async () => {
    touch(dir, "images/1.jpg");
    fs.writeFileSync(path.join(dir, "labels.csv"), "release_id,genres,file\n1,Rock,../../etc/passwd.jpg\n");
    await expect(listCovers(dir)).rejects.toThrow(/outside the covers folder/);
  });

  test("a missing folder is a clear error", async () => {
    await expect(listCovers(path.join(dir, "nope"))).rejects.toThrow(/does not exist/);
  });
});
