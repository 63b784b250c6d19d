import type { Config } from "jest";

/**
 * Tests are transpiled only (tsconfig `isolatedModules`, no diagnostics) so the suite starts fast; `npm run typecheck`
 * runs the strict type check separately (CI runs both).
 */
const config: Config = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
  },
  // Loading wasm models and running real images takes seconds, not milliseconds.
  testTimeout: 120_000,
  // Two cores: one worker per core keeps the wasm heaps apart without oversubscribing.
  maxWorkers: 2,
};

export default config;
