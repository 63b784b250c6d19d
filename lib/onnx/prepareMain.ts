/**
 * Child-process entry for lib/onnx/backbone.ts `chooseRuntimeSync()`: export one backbone and check
 * it against tfjs (`node -r tsx/cjs lib/onnx/prepareMain.ts '<BackboneSpec JSON>'`). The outcome is
 * written to the export cache; the exit code is 0 whenever a record was written, good or bad.
 * With `--faces` it does the same for every face model (lib/onnx/faceModels.ts).
 */
import { prepareExport } from "./backbone";
import type { BackboneSpec } from "../vision/backbone";
import { faceModelSpecs, prepareFaceExport } from "./faceModels";

async function prepareFaces(): Promise<void> {
  for (const spec of faceModelSpecs()) await prepareFaceExport(spec);
}

if (process.argv[2] === "--faces") {
  prepareFaces().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`onnx export of the face models failed: ${err.message.split("\n")[0]}\n`);
      process.exit(1);
    },
  );
} else prepareBackbone();

function prepareBackbone(): void {
  const spec = JSON.parse(process.argv[2] ?? "null") as BackboneSpec | null;
  if (!spec) {
    process.stderr.write("usage: node -r tsx/cjs lib/onnx/prepareMain.ts '<BackboneSpec JSON>' | --faces\n");
    process.exit(2);
  }
  prepareExport(spec).then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`onnx export of ${spec.name} failed: ${err.message.split("\n")[0]}\n`);
      process.exit(1);
    },
  );
}
