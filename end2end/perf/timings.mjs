// Front-end timings in Chromium against a running TopCluck (release build, COOP with
// COOP_AUTO_LOGIN so its login form is skipped). Not a test: it prints figures, the median of
// RUNS runs each, for scripts/measure.sh. Usage: node perf/timings.mjs <bff-url> [runs]
//
//   first load     fresh browser profile: navigation start -> page hydrated (data-hydrated set),
//                  and the bytes transferred (document + every resource, compressed sizes)
//   repeat load    same profile, new tab: the same, with the cache warm
//   login          "Log in" clicked -> farm page shown with today's egg count (through COOP's
//                  authorize endpoint, /callback, the code redemption and the first API call)
import { chromium } from "@playwright/test";
import { launchOptions } from "../chromium.mjs";

const base = process.argv[2];
const runs = Number(process.argv[3] ?? 5);
if (!base) {
  console.error("usage: node perf/timings.mjs <bff-url> [runs]");
  process.exit(2);
}


// Records when the app marks the page hydrated (performance.now(), i.e. since navigation start).
const watchHydration = () => {
  new MutationObserver((_, observer) => {
    if (document.documentElement.getAttribute("data-hydrated") === "true") {
      window.__hydratedAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-hydrated"] });
};

async function load(page) {
  await page.goto(base + "/");
  await page.waitForFunction(() => window.__hydratedAt !== undefined);
  return page.evaluate(() => {
    const entries = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
    return {
      hydratedMs: window.__hydratedAt,
      bytes: entries.reduce((sum, e) => sum + e.transferSize, 0),
      decodedBytes: entries.reduce((sum, e) => sum + e.decodedBodySize, 0),
    };
  });
}

async function once() {
  const browser = await chromium.launch(launchOptions);
  try {
    const context = await browser.newContext();
    await context.addInitScript(watchHydration);
    const first = await load(await context.newPage());
    const repeat = await load(await context.newPage());
    const page = await context.newPage();
    await load(page);
    const started = Date.now();
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByTestId("egg-count").waitFor({ state: "visible", timeout: 30_000 });
    const loginMs = Date.now() - started;
    return { first, repeat, loginMs };
  } finally {
    await browser.close();
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

const results = [];
for (let i = 0; i < runs; i++) results.push(await once());
const row = (label, values, unit) =>
  console.log(`${label.padEnd(40)} median ${String(Math.round(median(values))).padStart(7)} ${unit}   runs: ${values.map((v) => Math.round(v)).join(", ")}`);
console.log(`\nChromium, loopback, ${runs} runs (fresh browser each run): ${base}`);
row("first load: navigation -> hydrated", results.map((r) => r.first.hydratedMs), "ms");
row("first load: bytes transferred", results.map((r) => r.first.bytes), "B");
row("first load: bytes decoded", results.map((r) => r.first.decodedBytes), "B");
row("repeat load: navigation -> hydrated", results.map((r) => r.repeat.hydratedMs), "ms");
row("repeat load: bytes transferred", results.map((r) => r.repeat.bytes), "B");
row("login: click -> farm page shown", results.map((r) => r.loginMs), "ms");
