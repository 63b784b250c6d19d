import * as path from "node:path";
import { main } from "../../lib/cli/main";
import { capture } from "../helpers/cli";

const FIX = path.join(__dirname, "..", "fixtures", "discogs");

async function run(argv: string[], env: Record<string, string | undefined> = {}) {
  const { out, err, text } = capture();
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    const code = await main(argv, out, err);
    return { code, ...text() };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe("covergenre dump-stats / crawl (in process)", () => {
  test("dump-stats --json prints one JSON document with the counts", async () => {
    const r = await run(["dump-stats", "--dump", path.join(FIX, "masters-2020.xml"), "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ masters: 4, mastersWithGenres: 3, format: "2020", genresPerMaster: { "0": 1, "1": 1, "2": 1, "3": 1 } });
  });

  test("dump-stats reports broken records on stderr and still answers", async () => {
    const r = await run(["dump-stats", "--dump", path.join(FIX, "masters-broken.xml")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/3 masters/);
    expect(r.stderr).toMatch(/skipped master 302 \(byte \d+\)/);
  });

  test("bad input: missing file exit 1 naming it, missing flag exit 2", async () => {
    const missing = await run(["dump-stats", "--dump", "/nonexistent/masters.xml.gz"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\/nonexistent\/masters\.xml\.gz does not exist/);
    expect((await run(["dump-stats"])).code).toBe(2);
    expect((await run(["crawl", "--dump", path.join(FIX, "masters-2020.xml"), "--dry-run", "--rating-source", "web"])).code).toBe(2);
    expect((await run(["crawl", "--dump", path.join(FIX, "masters-2020.xml"), "--dry-run", "--from-id", "9", "--to-id", "3"])).code).toBe(2);
  });

  test("crawl --dry-run --json needs no token and plans the masters with genres", async () => {
    const r = await run(["crawl", "--dump", path.join(FIX, "masters-2020.xml"), "--dry-run", "--json"], { DISCOGS_TOKEN: undefined });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.dryRun).toBe(true);
    expect(doc.plan).toMatchObject({ dumpMasters: 4, withGenres: 3, eligible: 3, todo: 3 });
    expect(doc.estimate.apiRequests).toBe(6);
  });

  test("crawl without a token exits 1 with the explanation", async () => {
    const r = await run(["crawl", "--dump", path.join(FIX, "masters-2020.xml"), "--out", "/tmp/never-written"], { DISCOGS_TOKEN: undefined });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DISCOGS_TOKEN is not set/);
  });
});
