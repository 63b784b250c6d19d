/**
 * Loading @vladmandic/human on the shared wasm backend, from the models inside its npm package.
 *
 * Human's `exports` map hides its node-wasm build, so we load `human.node-wasm.js` by path; it
 * requires the same @tensorflow/tfjs-core as `lib/tf.ts`, so both share one engine and one backend.
 * Settings that matter here (measured, see STACK-NOTES): `cacheSensitivity: 0` (otherwise repeated
 * inputs come back from Human's frame cache), `maxDetected` raised (covers show several people),
 * no warm-up, and everything but the face pipeline switched off.
 */
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { initTf, wasmDistDir } from "../tf";
import { packageDir } from "../util/packages";
import { findGearModel, humanModelsDir } from "./models";

// Human's types are ESM-flavoured; we only need a small structural slice of them.
export type HumanInstance = {
  config: Record<string, unknown>;
  load(): Promise<void>;
  detect(input: unknown, config?: Record<string, unknown>): Promise<HumanResult>;
  models: { loaded(): string[] } & Record<string, unknown>;
  version: string;
};

export interface HumanFace {
  box: [number, number, number, number];
  score: number;
  boxScore?: number;
  faceScore?: number;
  age?: number;
  gender?: string;
  genderScore?: number;
  race?: Array<{ score: number; race: string }>;
  emotion?: Array<{ score: number; emotion: string }>;
  embedding?: number[];
}

export interface HumanResult {
  face: HumanFace[];
  error?: string | null;
}

/** Options for {@link loadHuman}; every field has a documented default. */
export interface HumanConfig {
  /** Most faces reported per image (Human's default is 1; covers often show a band). Default 20. */
  maxDetected: number;
  /** Detector confidence below which a face is dropped. Default 0.5. */
  minConfidence: number;
  /** Load GEAR for race (and its age/gender) when present in the cache. Default true. */
  gear: boolean;
  /** Emotion model (angry, disgust, fear, happy, sad, surprise, neutral). Default true. */
  emotion: boolean;
}

export const DEFAULT_HUMAN_CONFIG: HumanConfig = {
  maxDetected: 20,
  minConfidence: 0.5,
  gear: true,
  emotion: true,
};

/** The Human constructor from its node-wasm build (loaded once). */
function humanClass(): new (config: Record<string, unknown>) => HumanInstance {
  const file = path.join(packageDir("@vladmandic/human"), "dist", "human.node-wasm.js");
  const mod = require(file) as { Human?: unknown; default?: unknown };
  return (mod.Human ?? mod.default) as new (config: Record<string, unknown>) => HumanInstance;
}

/** The Human configuration object this project uses (exposed for tests and notebooks). */
export function humanSettings(config: HumanConfig = DEFAULT_HUMAN_CONFIG): Record<string, unknown> {
  const gearJson = config.gear ? findGearModel() : null;
  return {
    backend: "wasm",
    modelBasePath: pathToFileURL(humanModelsDir()).href + "/",
    wasmPath: wasmDistDir() + path.sep,
    wasmPlatformFetch: false,
    debug: false,
    async: false,
    warmup: "none",
    cacheSensitivity: 0,
    filter: { enabled: false },
    gesture: { enabled: false },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    segmentation: { enabled: false },
    face: {
      enabled: true,
      detector: { rotation: false, maxDetected: config.maxDetected, minConfidence: config.minConfidence, return: false },
      mesh: { enabled: true },
      iris: { enabled: false },
      attention: { enabled: false },
      description: { enabled: true },
      emotion: { enabled: config.emotion },
      antispoof: { enabled: false },
      liveness: { enabled: false },
      gear: gearJson ? { enabled: true, modelPath: pathToFileURL(gearJson).href } : { enabled: false },
    },
  };
}

/** Whether the loaded instance predicts race (GEAR present). */
export function hasRace(human: HumanInstance): boolean {
  return Boolean((human.config.face as { gear?: { enabled?: boolean } }).gear?.enabled);
}

/**
 * Load Human with all models it needs, on the project's backend. The returned instance is meant to
 * be kept for the life of the process (loading costs ~1 s).
 */
export async function loadHuman(config: Partial<HumanConfig> = {}): Promise<HumanInstance> {
  await initTf();
  const Human = humanClass();
  const human = new Human(humanSettings({ ...DEFAULT_HUMAN_CONFIG, ...config }));
  await human.load();
  return human;
}
