/**
 * `covergenre serve`'s API (lib/serve/server.ts over lib/explain/coverModel.ts) on generated covers
 * and a checkpoint trained in-test: the answer's shape and its agreement with `predict`, thresholds,
 * occlusion maps, neighbours found in the feature table, the gallery (missing, then present), bad
 * inputs that never take the server down, queued concurrent requests, and no tensor leak.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CoverModel } from "../../lib/explain/coverModel";
import { OOF_FILE, recomputeOofScores, writeOofScores } from "../../lib/explain/gallery";
import { startServer, type RunningServer } from "../../lib/serve/server";
import { initTf, tf } from "../../lib/tf";
import { loadCheckpoint } from "../../lib/train/checkpoint";
import { predictFiles } from "../../lib/train/predict";
import { badUploads, makeServeFixture, type ServeFixture } from "./fixture";

interface PredictAnswer {
  scores: Record<string, number>;
  genres: string[];
  thresholds: Record<string, number>;
  faces: { box: number[]; age: number | null; gender: string | null; emotion: string | null; race: string | null }[];
  neighbours: { id: string; collection: string; genres: string[]; similarity: number; thumb: string }[];
  neighboursMissing?: string;
  occlusion?: { genre: string; grid: number[][]; rows: number; cols: number; base: number };
}

async function post(base: string, body: Buffer, query = ""): Promise<{ status: number; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${base}api/predict${query}`, { method: "POST", body: new Uint8Array(body), headers: { "Content-Type": "application/octet-stream" } });
  return { status: res.status, json: await res.json() };
}

describe("covergenre serve API", () => {
  let fx: ServeFixture;
  let model: CoverModel;
  let srv: RunningServer;
  let cover: Buffer; // a cover with a person (row 0 of the table)

  beforeAll(async () => {
    await initTf();
    fx = await makeServeFixture();
    model = await CoverModel.load(fx.ckpt, { table: fx.table });
    srv = await startServer(model, { port: 0, maxBytes: 200_000 });
    cover = fs.readFileSync(fx.covers[0]);
  }, 120_000);
  afterAll(async () => {
    await srv?.close();
    model?.dispose();
    fs.rmSync(fx.tmp, { recursive: true, force: true });
  });

  test("binds to 127.0.0.1 by default; health names the model, its genres and thresholds, and why the gallery is missing", async () => {
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const h = (await (await fetch(`${srv.url}api/health`)).json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(h).toMatchObject({ ok: true, model: fx.ckpt, genres: fx.meta.genres, inputSet: "img+face+clr", neighbours: fx.covers.length, gallery: false });
    fx.meta.genres.forEach((g, j) => expect(h.thresholds[g]).toBeCloseTo(fx.meta.thresholds[j], 4));
    expect(h.galleryMissing).toContain(`${OOF_FILE} does not exist`);
    expect(h.galleryMissing).toContain("covergenre study");
    const g = await (await fetch(`${srv.url}api/gallery`)).json();
    expect(g).toEqual({ available: false, missing: h.galleryMissing });
  });

  test("POST /api/predict: scores for the checkpoint's genres, genres by its thresholds, faces, neighbours — the same scores as predict", async () => {
    const { status, json } = await post(srv.url, cover);
    const a = json as PredictAnswer;
    expect(status).toBe(200);
    expect(Object.keys(a.scores)).toEqual(fx.meta.genres);
    for (const s of Object.values(a.scores)) expect(s >= 0 && s <= 1).toBe(true);
    fx.meta.genres.forEach((g, j) => {
      expect(a.thresholds[g]).toBeCloseTo(fx.meta.thresholds[j], 4);
      if (Math.abs(a.scores[g] - fx.meta.thresholds[j]) > 1e-4) expect([g, a.genres.includes(g)]).toEqual([g, a.scores[g] >= fx.meta.thresholds[j]]);
    });
    expect(a.occlusion).toBeUndefined();
    // The same lib/ path as `covergenre predict`: identical scores and genres for the same file.
    const [p] = await predictFiles(fx.ckpt, [fx.covers[0]]);
    expect(a.scores).toEqual(p.scores);
    expect(a.genres).toEqual(p.genres);
    expect(a.faces).toHaveLength(p.faces!);
    expect(a.faces.length).toBeGreaterThanOrEqual(1);
    for (const f of a.faces) {
      expect(f.box).toHaveLength(4);
      expect(f.box.every((v) => Number.isInteger(v) && v >= 0 && v <= 300)).toBe(true);
      expect(typeof f.gender).toBe("string");
      expect(typeof f.emotion).toBe("string");
    }
    // Neighbours: the table's own copy of this cover comes first (same features → similarity 1).
    expect(a.neighbours).toHaveLength(fx.covers.length);
    expect(a.neighbours[0]).toMatchObject({ id: fx.fset.rows[0].masterId, collection: fx.fset.rows[0].collection, genres: fx.fset.rows[0].genres });
    expect(a.neighbours[0].similarity).toBeCloseTo(1, 3);
    const sims = a.neighbours.map((n) => n.similarity);
    expect(sims).toEqual([...sims].sort((x, y) => y - x));
    expect(sims[sims.length - 1]).toBeLessThan(0.999);
    const thumb = await fetch(`${srv.url}${a.neighbours[1].thumb.slice(1)}`);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get("content-type")).toBe("image/jpeg");
    expect((await fetch(`${srv.url}api/thumb/n/999`)).status).toBe(404);
  }, 60_000);

  test("?explain=top maps the highest-scoring genre, ?explain=<genre> that genre, on the asked grid", async () => {
    const top = await post(srv.url, cover, "?explain=top&grid=3");
    expect(top.status).toBe(200);
    const a = top.json as PredictAnswer;
    const best = fx.meta.genres.reduce((b, g) => (a.scores[g] > a.scores[b] ? g : b));
    expect(a.occlusion).toMatchObject({ genre: best, rows: 3, cols: 3 });
    expect(a.occlusion!.grid).toHaveLength(3);
    for (const row of a.occlusion!.grid) {
      expect(row).toHaveLength(3);
      for (const v of row) expect(Number.isFinite(v) && Math.abs(v) <= 1).toBe(true);
    }
    // A grey patch over a real cover changes the score somewhere.
    expect(Math.max(...a.occlusion!.grid.flat().map(Math.abs))).toBeGreaterThan(0);
    const rock = (await post(srv.url, cover, "?explain=Rock&grid=2")).json as PredictAnswer;
    expect(rock.occlusion).toMatchObject({ genre: "Rock", rows: 2, cols: 2 });
    expect(rock.scores).toEqual(a.scores);
    const bad = await post(srv.url, cover, "?explain=Polka");
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/explain=Polka is not one of the model's genres/);
    expect((await post(srv.url, cover, "?explain=top&grid=99")).json.error).toMatch(/grid=99 must be an integer from 1 to 32/);
  }, 60_000);

  test("bad inputs get a 4xx naming what and why; the next request is served normally", async () => {
    for (const bad of await badUploads(cover)) {
      const r = await post(srv.url, bad.body);
      expect([bad.name, r.status]).toEqual([bad.name, 400]);
      expect([bad.name, r.json.error]).toEqual([bad.name, expect.stringMatching(bad.error)]);
      expect((await post(srv.url, cover)).status).toBe(200);
    }
    const big = Buffer.concat([cover, Buffer.alloc(250_000)]);
    const r = await post(srv.url, big);
    expect(r.status).toBe(413);
    expect(r.json.error).toMatch(/too large: the limit is 0\.2 MB/);
    // The same without a Content-Length (chunked): counted while it arrives.
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(60_000));
        c.close();
      },
    });
    const rc = await fetch(`${srv.url}api/predict`, { method: "POST", body: chunked, duplex: "half" } as RequestInit & { duplex: string });
    expect([rc.status, ((await rc.json()) as { error: string }).error]).toEqual([413, expect.stringMatching(/too large/)]);
    const get = await fetch(`${srv.url}api/predict`);
    expect(get.status).toBe(405);
    expect((await fetch(`${srv.url}nothing-here`)).status).toBe(404);
    expect((await post(srv.url, cover)).status).toBe(200);
  }, 60_000);

  test("concurrent requests are queued and each gets its own answer; a full queue answers 503, not a crash", async () => {
    const bodies = fx.covers.map((f) => fs.readFileSync(f));
    const alone = [];
    for (const b of bodies) alone.push((await post(srv.url, b)).json.scores);
    const together = await Promise.all([...bodies.map((b) => post(srv.url, b)), post(srv.url, Buffer.from("not an image"))]);
    expect(together.map((r) => r.status)).toEqual([...bodies.map(() => 200), 400]);
    expect(together.slice(0, bodies.length).map((r) => r.json.scores)).toEqual(alone);

    const small = await startServer(model, { port: 0, maxQueued: 2 });
    try {
      const burst = await Promise.all(Array.from({ length: 6 }, () => post(small.url, cover)));
      const codes = burst.map((r) => r.status);
      expect(codes.filter((c) => c === 200).length).toBeGreaterThanOrEqual(2);
      expect(codes.filter((c) => c === 503).length).toBeGreaterThanOrEqual(1);
      expect(codes.every((c) => c === 200 || c === 503)).toBe(true);
      expect(burst.find((r) => r.status === 503)!.json.error).toMatch(/busy/);
      expect((await post(small.url, cover)).status).toBe(200);
    } finally {
      await small.close();
    }
  }, 120_000);

  test("no tensor leak: the tensor count is flat over repeated predictions, explanations and errors", async () => {
    await post(srv.url, cover, "?explain=top&grid=2");
    const before = tf.memory().numTensors;
    for (let i = 0; i < 8; i++) {
      await post(srv.url, fs.readFileSync(fx.covers[i % fx.covers.length]), i % 2 ? "?explain=top&grid=2" : "");
      await post(srv.url, Buffer.from("<html></html>"));
    }
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  test("with the study's out-of-fold scores beside the checkpoint, the gallery lists typical covers and confident mistakes per genre", async () => {
    // What `covergenre serve --oof` does for an older checkpoint (the study writes the same file from its own CV).
    const { ds, cv } = recomputeOofScores(await loadCheckpoint(fx.ckpt), fx.trainSet, { folds: 3 });
    expect(ds.ids).toEqual(fx.trainDs.ids);
    await writeOofScores(fx.ckpt, ds, cv, "img+face+clr");
    const withOof = await CoverModel.load(fx.ckpt, { table: null });
    const s = await startServer(withOof, { port: 0 });
    try {
      const h = await (await fetch(`${s.url}api/health`)).json();
      expect(h).toMatchObject({ gallery: true, galleryMissing: null, neighbours: null });
      expect(h.neighboursMissing).toMatch(/no feature table/);
      const g = await (await fetch(`${s.url}api/gallery`)).json();
      expect(g.available).toBe(true);
      expect(g.genres.map((x: { genre: string }) => x.genre)).toEqual(fx.meta.genres);
      for (const [j, x] of (g.genres as { genre: string; typical: any[]; mistakes: any[] }[]).entries()) { // eslint-disable-line @typescript-eslint/no-explicit-any
        expect(x.typical.length).toBeGreaterThan(0);
        expect(x.typical.every((t) => t.genres.includes(x.genre))).toBe(true);
        expect(x.mistakes.every((t) => !t.genres.includes(x.genre))).toBe(true);
        for (const list of [x.typical, x.mistakes]) expect(list.map((t) => t.score)).toEqual(list.map((t) => t.score).sort((p: number, q: number) => q - p));
        // the typical cover's score is the highest out-of-fold score of the genre among its covers
        const best = Math.max(...Array.from({ length: ds.n }, (_, r) => (ds.y[r * ds.k + j] ? cv.oof[r * ds.k + j] : -1)));
        expect(x.typical[0].score).toBeCloseTo(best, 4);
      }
      const noNeighbours = (await post(s.url, cover)).json as PredictAnswer;
      expect(noNeighbours.neighbours).toEqual([]);
      expect(noNeighbours.neighboursMissing).toMatch(/no feature table/);
    } finally {
      await s.close();
      withOof.dispose();
      fs.rmSync(path.join(fx.ckpt, OOF_FILE));
    }
  }, 120_000);
});
