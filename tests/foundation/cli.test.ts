import { main, mainHelp } from "../../lib/cli/main";
import { intOpt, choiceOpt, type Command } from "../../lib/cli/framework";
import { UsageError } from "../../lib/util/errors";
import { capture, runBin } from "../helpers/cli";




const echo: Command = {
  name: "echo",
  summary: "test command",
  usage: "covergenre echo [--times N] <word>",
  options: { times: { type: "string", description: "repeat count" } },
  positionals: true,
  async run(ctx) {
    const n = intOpt(ctx.values, "times", 1, 1, 5);
    if (ctx.json) ctx.printJson({ words: Array(n).fill(ctx.positionals[0]) });
    else ctx.print(Array(n).fill(ctx.positionals[0]).join(" "));
    return 0;
  },
};

describe("CLI frame", () => {
  test("help lists every command; no command is a usage error", async () => {
    const c = capture();
    expect(await main(["--help"], c.out, c.err, [echo])).toBe(0);
    expect(c.text().stdout).toContain("echo");
    expect(mainHelp([echo])).toMatch(/Exit codes: 0 ok, 1 failure, 2 usage error/);
    expect(await main([], c.out, c.err, [echo])).toBe(2);
  });

  test("unknown command and unknown flag exit 2 with a clear message", async () => {
    const c = capture();
    expect(await main(["ecko"], c.out, c.err, [echo])).toBe(2);
    expect(c.text().stderr).toMatch(/unknown command "ecko" \(did you mean echo\?\)/);
    const d = capture();
    expect(await main(["echo", "--bogus", "x"], d.out, d.err, [echo])).toBe(2);
    expect(d.text().stderr).toMatch(/Unknown option '--bogus'/);
  });

  test("bad flag values name the flag; --json prints one document", async () => {
    const c = capture();
    expect(await main(["echo", "--times", "9", "hi"], c.out, c.err, [echo])).toBe(2);
    expect(c.text().stderr).toMatch(/--times must be a whole number ≥ 1 and ≤ 5, got "9"/);
    const j = capture();
    expect(await main(["echo", "--json", "--times", "2", "hi"], j.out, j.err, [echo])).toBe(0);
    expect(JSON.parse(j.text().stdout)).toEqual({ words: ["hi", "hi"] });
  });

  test("choiceOpt rejects values outside the list", () => {
    expect(choiceOpt({ size: "150" }, "size", ["full", "150"] as const, "full")).toBe("150");
    expect(() => choiceOpt({ size: "300" }, "size", ["full", "150"] as const, "full")).toThrow(UsageError);
  });

  test("errors never print the Discogs token", async () => {
    const leaky: Command = {
      name: "leak",
      summary: "",
      usage: "",
      options: {},
      async run() {
        throw new Error(`GET failed with Authorization: Discogs token=${process.env.DISCOGS_TOKEN}`);
      },
    };
    const saved = process.env.DISCOGS_TOKEN;
    process.env.DISCOGS_TOKEN = "abcdefSECRET123456";
    try {
      const c = capture();
      expect(await main(["leak"], c.out, c.err, [leaky])).toBe(1);
      expect(c.text().stderr).toContain("token=***");
      expect(c.text().stderr).not.toContain("SECRET123456");
    } finally {
      if (saved === undefined) delete process.env.DISCOGS_TOKEN;
      else process.env.DISCOGS_TOKEN = saved;
    }
  });
});

describe("the covergenre binary (no build step)", () => {
  test("--help answers and lists doctor", async () => {
    const r = await runBin(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/doctor/);
  });

  test("doctor --json reports the wasm backend with SIMD and the matmul fix", async () => {
    const r = await runBin(["doctor", "--json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.backend).toBe("wasm");
    expect(report.simd).toBe(true);
    expect(report.matmulFix).toBe(true);
    expect(report.versions["@tensorflow/tfjs"]).toBe("4.22.0");
    expect(report.models.human.found).toEqual(expect.arrayContaining(["blazeface", "faceres", "emotion"]));
    expect(report.models.backbones.inception_v3).toBe("nsfwjs:inception_v3");
  });

  test("a bad backend name is a clear error, not a stack trace", async () => {
    const r = await runBin(["doctor"], { COVERGENRE_BACKEND: "webgl" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/COVERGENRE_BACKEND="webgl" is not a backend/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test("unknown commands exit 2", async () => {
    const r = await runBin(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "frobnicate"/);
  });
});
