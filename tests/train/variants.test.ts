import { mlpInputSetsOpt } from "../../lib/cli/commands/study";
import { defaultStudyConfig } from "../../lib/train/study";
import { UsageError } from "../../lib/util/errors";

describe("the MLP variants of the study", () => {
  test("by default only img+face+clr gets the MLP head (the best configuration); --mlp chooses, none turns it off", () => {
    expect(defaultStudyConfig().mlpInputSets).toEqual(["img+face+clr"]);
    expect(mlpInputSetsOpt("img, img+face+clr")).toEqual(["img", "img+face+clr"]);
    expect(mlpInputSetsOpt("none")).toEqual([]);
    expect(() => mlpInputSetsOpt("img+face,face")).toThrow(UsageError);
    expect(() => mlpInputSetsOpt("face")).toThrow(/not one of the all-covers input sets/);
  });
});
