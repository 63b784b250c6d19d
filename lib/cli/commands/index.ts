/**
 * Every `covergenre` subcommand, in the order `--help` lists them. Each lives in its own module
 * and calls into lib/, so the CLI adds no logic of its own.
 */
import type { Command } from "../framework";
import { compareCommand } from "./compare";
import { crawlCommand } from "./crawl";
import { doctorCommand } from "./doctor";
import { dumpStatsCommand } from "./dumpStats";
import { facesCommand } from "./faces";
import { featuresCommand } from "./features";
import { labCommand, notebooksCommand } from "./notebooks";
import { pipelineCommand } from "./pipeline";
import { predictCommand } from "./predict";
import { refineCommand } from "./refine";
import { reportCommand } from "./report";
import { serveCommand } from "./serve";
import { setupCommand } from "./setup";
import { studyCommand } from "./study";
import { trainCommand } from "./train";
import { workerCommand } from "./worker";

/** The main job first, then the study's steps in pipeline order, then the workspace's own tools. */
export const COMMANDS: Command[] = [
  pipelineCommand,
  dumpStatsCommand,
  crawlCommand,
  featuresCommand,
  workerCommand,
  facesCommand,
  refineCommand,
  studyCommand,
  compareCommand,
  trainCommand,
  predictCommand,
  serveCommand,
  reportCommand,
  notebooksCommand,
  labCommand,
  setupCommand,
  doctorCommand,
];
