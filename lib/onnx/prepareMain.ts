/**
 * Child-process entry for lib/onnx/backbone.ts `chooseRuntimeSync()`: export one backbone and check
 * it against tfjs (`node -r tsx/cjs lib/onnx/prepareMain.ts '<BackboneSpec JSON>'`). The outcome is
 * written to the export cache; the exit code is 0 whenever a record was written, good or bad.
 */
import { prepareExport } from "./backbone";
import type { BackboneSpec } from "../vision/backbone";

const spec = JSON.parse(process.argv[2] ?? "null") as BackboneSpec | null;
if (!spec) {
  process.stderr.write("usage: node -r tsx/cjs lib/onnx/prepareMain.ts '<BackboneSpec JSON>'\n");
  process.exit(2);
}
prepareExport(spec).then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`onnx export of ${spec.name} failed: ${err.message.split("\n")[0]}\n`);
    process.exit(1);
  },
);
