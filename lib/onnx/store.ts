/**
 * Where exports live: `<cache>/onnx/<backbone>-<id>.onnx` beside a `<backbone>-<id>.json` record,
 * in the per-user cache lib/vision/models.ts already uses for downloaded models
 * (`$COVERGENRE_CACHE` or `~/.cache/covergenre`). Nothing here is committed or downloaded.
 *
 * The id hashes the source model's content (its model.json and weight files, or nsfwjs's bundled
 * files), the backbone's cut, input size and pixel scaling, and EXPORT_REVISION: a changed model or
 * exporter gets a new export, an unchanged one is reused by every process, worker and run.
 *
 * The record says whether the export matched tfjs on fixed inputs (and by how much) or why it
 * could not be used; it is valid for the onnxruntime-node and tfjs versions that checked it.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { BackboneSpec } from "../vision/backbone";
import { cacheDir } from "../vision/models";
import { packageDir, packageVersion } from "../util/packages";
import { EXPORT_REVISION } from "./export";

/** What every export record holds, whichever exporter made it (layers models, graph models). */
export interface RecordBase {
  /** True when the export exists and matched tfjs within the tolerance. */
  ok: boolean;
  /** Why it is not used (unsupported layer or op, mismatch, …) when `ok` is false. */
  error?: string;
  tolerance: number;
  ortVersion: string | null;
  tfjsVersion: string | null;
  tfjsBackend: string;
  exportRevision: number;
  source: string;
  createdAt: string;
}

export interface ExportRecord extends RecordBase {
  /** Largest |onnx − tfjs| over the pooled embedding of the check images, and over the map. */
  maxDiffPooled?: number;
  maxDiffMap?: number;
  mapShape?: number[];
  nodes?: number;
  foldedBatchNorms?: number;
}

/** The fields a record writer fills in itself. */
type Stamped = "tolerance" | "ortVersion" | "tfjsVersion" | "tfjsBackend" | "exportRevision" | "source" | "createdAt";

/**
 * A function that writes the record of export `id` (stamped with the installed versions, the
 * tolerance, exporter revision and source) and returns it: called once per export check, good or bad.
 */
export function recordWriter<R extends RecordBase>(
  id: string,
  env: NodeJS.ProcessEnv,
  stamp: { tolerance: number; tfjsBackend: string; exportRevision: number; source: string },
): (rec: Omit<R, Stamped>) => { id: string; record: R } {
  const file = exportPaths(id, env).record;
  return (rec) => {
    const record = { ...stamp, ortVersion: packageVersion("onnxruntime-node"), tfjsVersion: packageVersion("@tensorflow/tfjs"), ...rec, createdAt: new Date().toISOString() } as unknown as R;
    writeAtomicSync(file, JSON.stringify(record, null, 1) + "\n");
    return { id, record };
  };
}

/** Per value, on the pooled embedding (the tolerance). */
export const TOLERANCE = 1e-4;

export function onnxCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), "onnx");
}

/** Can this spec be exported at all (before loading it)? null when yes, else the reason. */
export function notExportable(spec: BackboneSpec): string | null {
  if (spec.format === "graph") return "graph models are not exported (only tfjs layers models are)";
  if (/^https?:\/\//i.test(spec.source)) return "remote models are not exported (their content cannot be hashed before loading)";
  return null;
}

const digestMemo = new Map<string, { stamp: string; digest: string }>();

/** Files whose bytes define the source model. */
function sourceFiles(spec: Pick<BackboneSpec, "source">): string[] {
  if (spec.source.startsWith("nsfwjs:")) {
    const dir = path.join(packageDir("nsfwjs"), "dist", "models", spec.source.slice("nsfwjs:".length));
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".js"))
      .sort()
      .map((f) => path.join(dir, f));
  }
  const modelJson = spec.source.startsWith("file://") ? fileURLToPath(spec.source) : spec.source;
  const json = JSON.parse(fs.readFileSync(modelJson, "utf8")) as { weightsManifest?: { paths: string[] }[] };
  const shards = (json.weightsManifest ?? []).flatMap((g) => g.paths.map((p) => path.join(path.dirname(modelJson), p)));
  return [modelJson, ...shards];
}

/** sha256 of the source model's files (memoized per process on their sizes and mtimes). */
export function sourceDigest(spec: Pick<BackboneSpec, "source">): string {
  const files = sourceFiles(spec);
  const stamp = files.map((f) => {
    const st = fs.statSync(f);
    return `${f}:${st.size}:${st.mtimeMs}`;
  }).join("|");
  const memo = digestMemo.get(spec.source);
  if (memo && memo.stamp === stamp) return memo.digest;
  const h = createHash("sha256");
  for (const f of files) {
    h.update(path.basename(f));
    h.update(fs.readFileSync(f));
  }
  const digest = h.digest("hex");
  digestMemo.set(spec.source, { stamp, digest });
  return digest;
}

/** The export's id: readable backbone name + hash of content, cut, size, scaling and exporter revision. */
export function exportId(spec: BackboneSpec): string {
  const h = createHash("sha256")
    .update(JSON.stringify([sourceDigest(spec), spec.cutLayer ?? null, spec.inputSize, spec.scaling, EXPORT_REVISION, ...(spec.meanStd ? [spec.meanStd] : [])]))
    .digest("hex")
    .slice(0, 16);
  return `${spec.name.replace(/[^A-Za-z0-9_-]/g, "_")}-${h}`;
}

export function exportPaths(id: string, env: NodeJS.ProcessEnv = process.env): { onnx: string; record: string } {
  const dir = onnxCacheDir(env);
  return { onnx: path.join(dir, `${id}.onnx`), record: path.join(dir, `${id}.json`) };
}

/**
 * The record for `id` if it exists and was checked with the installed onnxruntime-node and tfjs and
 * the exporter revision `revision` (the layers exporter's by default; the graph translator has its own).
 */
export function readRecord<R extends RecordBase = ExportRecord>(
  id: string,
  env: NodeJS.ProcessEnv = process.env,
  revision: number = EXPORT_REVISION,
): R | null {
  const p = exportPaths(id, env);
  let rec: R;
  try {
    rec = JSON.parse(fs.readFileSync(p.record, "utf8")) as R;
  } catch {
    return null;
  }
  if (rec.ortVersion !== packageVersion("onnxruntime-node") || rec.tfjsVersion !== packageVersion("@tensorflow/tfjs") || rec.exportRevision !== revision) return null;
  if (rec.ok && !fs.existsSync(p.onnx)) return null;
  return rec;
}

/** Write atomically (temp file + rename): concurrent processes may export the same model. */
export function writeAtomicSync(file: string, data: Uint8Array | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}
