#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx's CommonJS hook), so `npx covergenre` works right after
// `npm ci` with no build step, and the CLI always runs the same lib/ code as notebooks and tests.
"use strict";
require("tsx/cjs");
const { main } = require("../lib/cli/main.ts");
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`covergenre: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 1;
  },
);
