/**
 * One typed configuration for building the feature table, and the cache keys derived from it.
 *
 * A cache key names everything that could change a stage's output: its settings, the versions of
 * the packages whose models it runs, and the revision constant of the lib/ modules that compute it
 * (DECODE_REVISION, COLOUR_REVISION, FACES_REVISION, EMBED_REVISION). So a change to the face code
 * that alters results recomputes cached faces but keeps colour and embeddings, while editing a
 * comment or refactoring recomputes nothing. A revision that is not bumped when outputs change is
 * caught by tests/features/revisions.test.ts, which compares output digests on fixed inputs.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BACKBONES, resolveBackboneSpec } from "../vision/backbone";
import { COLOUR_REVISION, DEFAULT_COLOUR_CONFIG, type ColourConfig } from "../vision/colour";
import { DEFAULT_FACE_CONFIG, FACES_REVISION, type FaceConfig } from "../vision/faces";
import { DECODE_REVISION, DEFAULT_MAX_PIXELS } from "../vision/image";
import { EMBED_REVISION } from "../vision/embed";
import { chooseRuntimeSync } from "../onnx/backbone";
import { chooseFaceRuntimesSync, faceRuntimeKey } from "../onnx/faceModels";
import { EXPORT_REVISION } from "../onnx/export";
import { findGearModel } from "../vision/models";
import { packageVersion } from "../util/packages";
import type { MapDtype } from "./maps";

export interface FeatureConfig {
  /**
   * Backbones whose pooled embedding is stored. Default: mobilenet_v1 when ../shared/models has it,
   * else inception_v3 (the one an npm package ships). The study's InceptionV3 is left out of the
   * default beside MobileNet: concatenated to it, it changed micro-F1 by −0.002 for about a
   * quarter of the feature time. `--backbones inception_v3,mobilenet_v1` brings it back.
   */
  backbones: string[];
  /**
   * Backbones whose full feature map is stored too. Default none: the study's Flatten head needs
   * inception_v3's only for its own ≈ 1,000 covers, and builds a side table of them when it runs
   * (lib/train/thesisHead.ts `flattenHeadMaps`).
   */
  maps: string[];
  /**
   * Storage of the maps. Default "f16": measured on real covers, relative RMS error 0.02% (u8 with a
   * per-row scale: 0.79%) at half the size of float32 (283 MB for 3,763 covers; u8 141 MB).
   */
  mapDtype: MapDtype;
  /** Run face analysis. Default true. */
  faces: boolean;
  /** Face analyzer settings (lib/vision/faces.ts defaults). */
  face: Partial<FaceConfig>;
  colour: ColourConfig;
  /** Worker threads, each with its own wasm engine and models. Default: number of CPUs, at most 4; 0 runs in this thread. */
  workers: number;
  /** Covers per message to a worker (the backbones run them as one batch). Default 8. */
  batchSize: number;
  /** Decoder's pixel limit (decompression bombs). Default lib/vision/image.ts's 50 Mpx. */
  maxPixels: number;
  /** Cache folder. Default `<table folder>/<table stem>.cache`. */
  cacheDir?: string;
  /** Process only N covers (quick looks, benchmarks). */
  limit?: number;
  /** Which N covers `limit` keeps: the first N in listing order (default), or N spread evenly over the listing (a mix of genres). */
  sample?: "first" | "spread";
}

export function defaultBackbones(): string[] {
  return BACKBONES.mobilenet_v1() ? ["mobilenet_v1"] : ["inception_v3"];
}

/** The backbones and maps the study's Flatten head needs on top of `config`: InceptionV3 with its mixed7 maps. */
export function withInceptionMaps(config: Pick<FeatureConfig, "backbones" | "maps">): Pick<FeatureConfig, "backbones" | "maps"> {
  return {
    backbones: config.backbones.includes("inception_v3") ? config.backbones : ["inception_v3", ...config.backbones],
    maps: config.maps.includes("inception_v3") ? config.maps : [...config.maps, "inception_v3"],
  };
}

export function defaultFeatureConfig(): FeatureConfig {
  return {
    backbones: defaultBackbones(),
    maps: [],
    mapDtype: "f16",
    faces: true,
    face: {},
    colour: { ...DEFAULT_COLOUR_CONFIG },
    workers: Math.min(4, Math.max(1, os.cpus().length)),
    batchSize: 8,
    maxPixels: DEFAULT_MAX_PIXELS,
  };
}

/** Stage names: "colour", "faces", and "emb:<backbone>" (pooled + map when configured). */
export type Stage = string;

export function stagesOf(config: FeatureConfig): Stage[] {
  return ["colour", ...(config.faces ? ["faces"] : []), ...config.backbones.map((b) => `emb:${b}`)];
}

function sha(parts: unknown[]): string {
  return createHash("sha1").update(JSON.stringify(parts)).digest("hex").slice(0, 12);
}

/**
 * Cache key per stage (a readable prefix plus a hash of everything that changes the output).
 * Embedding keys name the runtime (`emb-<backbone>-<map>[-onnx]-<hash>`): see lib/onnx/.
 */
export function stageKeys(config: FeatureConfig): Record<Stage, string> {
  const decode = [config.maxPixels, packageVersion("sharp"), DECODE_REVISION];
  const keys: Record<Stage, string> = {
    colour: `colour-${sha([decode, config.colour, COLOUR_REVISION])}`,
  };
  if (config.faces) {
    const face = { ...DEFAULT_FACE_CONFIG, ...config.face };
    const gear = findGearModel();
    // As for embeddings: on tfjs the key is what it always was; when any face model runs on onnx the
    // key names which ones and their export ids (see lib/onnx/faceModels.ts and the README's Backend).
    const runtime = faceRuntimeKey(chooseFaceRuntimesSync());
    const tag = runtime.length ? "-onnx" : "";
    keys.faces = `faces${tag}-${sha([decode, face, packageVersion("@vladmandic/human"), gear ? path.basename(gear) + fs.statSync(gear).size : null, FACES_REVISION, ...runtime])}`;
  }
  for (const b of config.backbones) {
    const spec = resolveBackboneSpec(b);
    const map = config.maps.includes(b) ? config.mapDtype : "nomap";
    // The runtime is part of the key, so switching runtimes never mixes rows silently. tfjs keeps the
    // key it always had (caches made before onnx stay valid); onnx adds its export's id (source model
    // content, cut, size, scaling, EXPORT_REVISION) and the onnxruntime-node version. Deciding it may
    // make and check the export (once per model and machine, in a child process).
    const rt = chooseRuntimeSync(spec);
    const runtime = rt.runtime === "onnx" ? ["onnx", rt.id, packageVersion("onnxruntime-node"), EXPORT_REVISION] : [];
    const tag = rt.runtime === "onnx" ? "-onnx" : "";
    keys[`emb:${b}`] = `emb-${spec.name.replace(/[^A-Za-z0-9_-]/g, "_")}-${map}${tag}-${sha([decode, spec, packageVersion("@tensorflow/tfjs"), packageVersion("nsfwjs"), EMBED_REVISION, ...runtime])}`;
  }
  return keys;
}
