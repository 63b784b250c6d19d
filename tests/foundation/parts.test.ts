import { needs } from "../helpers/parts";

test("a present part runs its tests; a missing one skips them here and fails them under CI", () => {
  expect(needs({ "a part (how to install it)": true }).test).toBe(test);
  const saved = process.env.CI;
  try {
    delete process.env.CI;
    const local = needs({ "a part (how to install it)": false });
    expect(local.test).toBe(test.skip);
    expect(local.describe).toBe(describe.skip);
    process.env.CI = "true";
    const ci = needs({ "a part (how to install it)": false, "another (present)": true });
    expect(ci.present).toBe(false);
    expect(ci.test).not.toBe(test.skip);
    expect(ci.describe).not.toBe(describe.skip);
  } finally {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  }
});
