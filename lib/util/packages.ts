/**
 * Locate files inside installed npm packages whose `exports` maps hide them (nsfwjs's bundled
 * models, Human's node-wasm build and its models folder).
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The install folder of package `name`, found by walking up from its resolved main entry. */
export function packageDir(name: string): string {
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      try {
        if (JSON.parse(fs.readFileSync(pkg, "utf8")).name === name) return dir;
      } catch {
        // a package.json without a name (e.g. dist/package.json "type" markers): keep walking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the install folder of ${name}`);
    dir = parent;
  }
}

/** The version of an installed package, or null when it is not installed. */
export function packageVersion(name: string): string | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(packageDir(name), "package.json"), "utf8")).version ?? null;
  } catch {
    return null;
  }
}
