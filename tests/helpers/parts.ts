/**
 * Tests that need a real part of the machine: Chromium, Jupyter, redis-server, or ../shared's real
 * data and models. Where a part is missing they skip, saying which and how to get it, so a
 * contributor without it still runs everything else. Under CI (`CI=true`, set by .ci/run, which
 * installs every part and runs beside ../shared) a missing part fails instead: a skip there would
 * prove nothing.
 */
import * as path from "node:path";

export const CHROMIUM_PART = "Chromium (apt-get install -y --no-install-recommends chromium)";
export const JUPYTER_PART =
  "Jupyter with nbconvert (apt-get install -y --no-install-recommends jupyter-notebook jupyter-nbconvert python3-nbconvert python3-ipykernel jupyter-client)";
export const REDIS_PART = "redis-server (apt-get install -y --no-install-recommends redis-server)";
export const SHARED_PART = "../shared beside the checkout (real data and models)";

export interface PartGate {
  /** `test`, `test.skip`, or (under CI) a test that fails naming the missing part. */
  test: jest.It;
  describe: jest.Describe;
  present: boolean;
}

/**
 * Gate tests on parts: `{ [CHROMIUM_PART]: Boolean(findChromium()) }`. Each key says what the part is
 * and how to install it; the value is whether this machine has it.
 */
export function needs(parts: Record<string, boolean>): PartGate {
  const missing = Object.entries(parts)
    .filter(([, present]) => !present)
    .map(([what]) => what);
  if (!missing.length) return { test, describe, present: true };
  const reason = `missing: ${missing.join("; ")}`;
  if (process.env.CI) {
    const failing = ((name: string) =>
      test(name, () => {
        throw new Error(`${reason}. CI installs every part, so this test must run, not skip`);
      })) as unknown as jest.It;
    const failingDescribe = ((name: string) => describe(name, () => failing("its parts are present"))) as unknown as jest.Describe;
    return { test: failing, describe: failingDescribe, present: false };
  }
  const file = expect.getState().testPath;
  // eslint-disable-next-line no-console
  console.warn(`SKIPPED (part of) ${file ? path.relative(process.cwd(), file) : "a test file"}: ${reason}`);
  return { test: test.skip, describe: describe.skip, present: false };
}
