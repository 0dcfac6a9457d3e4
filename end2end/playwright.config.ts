import { defineConfig } from "@playwright/test";
import { launchOptions } from "./chromium.mjs";

// The server is started by `cargo leptos end-to-end` (see scripts/test.sh); globalSetup waits
// for it. Chromium is Debian's: Playwright cannot download browsers on these machines.
const baseURL = process.env.TOPCLUCK_URL ?? "http://127.0.0.1:3000";
// TOPCLUCK_E2E_ONLY=counting runs tests/counting.spec.ts alone (scripts/test.sh's second pass,
// against a COOP that keeps one grant per client and farmer).
const only = process.env.TOPCLUCK_E2E_ONLY;

export default defineConfig({
  testDir: "./tests",
  ...(only ? { testMatch: `**/${only}.spec.ts` } : {}),
  globalSetup: "./global-setup.ts",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  // The JSON report is how scripts/test.sh knows the tests ran: `cargo leptos end-to-end`
  // exits 0 even when its build fails.
  reporter: [["list"], ["json", { outputFile: "results/report.json" }]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions,
  },
  projects: [{ name: "chromium", use: { browserName: "chromium" } }],
});
