import AxeBuilder from "@axe-core/playwright";
import { expect, type APIRequestContext, type Locator, type Page, type Route } from "@playwright/test";

/** COOP, the development provider the server runs (its /dev endpoints steer it). */
export const coop = process.env.COOP_URL ?? "http://127.0.0.1:3030";

/** Logs `farmer` in through COOP's form and waits for the farm page. */
export async function logIn(page: Page, farmer: string) {
  await page.goto("/");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByLabel("Farmer name").fill(farmer);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("egg-count")).toBeVisible();
}

/**
 * Holds the page's silent login start (`GET /bff/login?…&prompt=none`) until the returned
 * function is called, so the page can be seen saying what it does meanwhile (once the browser
 * navigates, Playwright waits for the next page).
 */
export async function holdSilentStart(page: Page): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route(
    (url) => url.pathname === "/bff/login" && url.searchParams.get("prompt") === "none",
    async (route) => {
      await released;
      await route.continue();
    },
  );
  return release;
}

/**
 * Runs `during` while COOP is down (its outage fault): a session that ends meanwhile cannot be
 * signed back in silently (the BFF cannot push the login to COOP), so the page asks the farmer
 * to log in again.
 */
export async function whileCoopIsDown(request: APIRequestContext, during: () => Promise<void>) {
  const faults = await request.post(`${coop}/dev/faults`, { data: { unavailable_seconds: 30 } });
  expect(faults.status()).toBe(204);
  try {
    await during();
  } finally {
    await request.delete(`${coop}/dev/faults`);
  }
}

/**
 * One pass of the daily job now, as the farmer logged in in `request`'s cookies (the dev route,
 * `POST /bff/dev/count-eggs`, needs a session).
 */
export async function countEggs(request: APIRequestContext) {
  const run = await request.post("/bff/dev/count-eggs", { headers: { "X-CSRF": "1" } });
  expect(run.ok(), `count-eggs answered ${run.status()}: ${await run.text()}`).toBe(true);
}

export async function record(page: Page, eggs: string) {
  await page.getByLabel("Eggs collected").fill(eggs);
  await recordButton(page).click();
}

/** The record form's submit button ("Record", or "Recording…" while a record is under way). */
export function recordButton(page: Page): Locator {
  return page.locator(".record-eggs button[type=submit]");
}

/**
 * Holds the next `POST /api/eggs` until the returned function is called, so a test can see the
 * button say "Recording…" before the answer arrives. The held request then goes on to the
 * server, or gets `answer` instead (a stand-in for an answer COOP cannot be made to give).
 */
export async function holdNextRecord(page: Page, answer?: (route: Route) => Promise<void>): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held = false;
  await page.route("**/api/eggs", async (route) => {
    if (route.request().method() !== "POST" || held) return route.fallback();
    held = true;
    await released;
    if (answer) await answer(route);
    else await route.fallback();
  });
  return release;
}

/** Records `eggs` through a held request and checks the button is pending until released. */
export async function recordHeld(page: Page, eggs: string, answer?: (route: Route) => Promise<void>) {
  const release = await holdNextRecord(page, answer);
  await record(page, eggs);
  const button = recordButton(page);
  await expect(button).toHaveText("Recording…");
  await expect(button).toBeDisabled();
  release();
}

/** Checks the record button is back: "Record", and enabled. */
export async function expectRecordButtonBack(page: Page, timeout?: number) {
  const button = recordButton(page);
  await expect(button).toHaveText("Record", { timeout });
  await expect(button).toBeEnabled();
}

/** The axe-core rule tags of WCAG 2.1 levels A and AA (issue 12's bar: 0 violations). */
export const wcag21aa = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/**
 * Runs axe-core's WCAG 2.1 A/AA rules on `page` as it is now, prints one summary line for
 * `state` ("axe: farm page — 0 violations, N rules passed"), and fails with every violation:
 * its rule, impact, the elements (CSS selectors) and what to do about it. What axe could not
 * decide ("incomplete", to be checked by hand) is counted in the line; AXE_REVIEW=1 lists it.
 */
export async function expectNoAxeViolations(page: Page, state: string) {
  const results = await new AxeBuilder({ page }).withTags(wcag21aa).analyze();
  const review = results.incomplete.map((rule) => `${rule.id} (${rule.nodes.length})`);
  console.log(
    `axe: ${state} — ${results.violations.length} violations, ${results.passes.length} rules passed` +
      (review.length ? `; to review by hand: ${review.join(", ")}` : ""),
  );
  if (process.env.AXE_REVIEW) {
    for (const rule of results.incomplete) {
      for (const node of rule.nodes) {
        const why = [...node.any, ...node.all, ...node.none].map((check) => check.message).join("; ");
        console.log(`    review ${rule.id} at ${node.target.join(" ")}: ${why}`);
      }
    }
  }
  const violations = results.violations.flatMap((rule) => [
    `${rule.id} [${rule.impact}] ${rule.help} (${rule.helpUrl})`,
    ...rule.nodes.map((node) => `    at ${node.target.join(" ")}: ${node.failureSummary?.replace(/\s*\n\s*/g, " ")}`),
  ]);
  expect(violations, `axe: WCAG 2.1 A/AA violations on ${state}`).toEqual([]);
}

/**
 * Presses Tab (Shift+Tab when `back`) until `target` has the keyboard focus, as a keyboard-only
 * user would; fails when it is not reached within `max` presses.
 */
export async function tabTo(page: Page, target: Locator, { back = false, max = 25 } = {}) {
  await expect(target).toBeVisible();
  for (let presses = 0; presses < max; presses++) {
    await page.keyboard.press(back ? "Shift+Tab" : "Tab");
    if (await target.evaluate((element) => element === document.activeElement)) return;
  }
  throw new Error(`${target} not reached with ${max} presses of ${back ? "Shift+Tab" : "Tab"}`);
}

/**
 * Checks the focused `target` shows that it has the focus: it matches `:focus-visible`, and its
 * outline (or box-shadow) is drawn, at least `minOutlinePx` wide.
 */
export async function expectVisibleFocus(target: Locator, minOutlinePx = 1) {
  await expect(target).toBeFocused();
  const look = await target.evaluate((element) => {
    const style = getComputedStyle(element);
    return {
      focusVisible: element.matches(":focus-visible"),
      outline: style.outlineStyle === "none" ? 0 : parseFloat(style.outlineWidth),
      boxShadow: style.boxShadow,
    };
  });
  expect(look.focusVisible, "the element matches :focus-visible").toBe(true);
  expect(
    look.outline >= minOutlinePx || look.boxShadow !== "none",
    `a focus outline of at least ${minOutlinePx}px (or a box-shadow): ${JSON.stringify(look)}`,
  ).toBe(true);
}

/**
 * The bundle the home page links: its stylesheet, JS glue and WASM, by the names of this build
 * (`/pkg/topcluck.<hash>.css` and so on with cargo-leptos's hash files, `/pkg/topcluck.css` without).
 */
export async function bundle(request: APIRequestContext): Promise<{ css: string; js: string; wasm: string }> {
  const html = await (await request.get("/")).text();
  const href = (pattern: RegExp) => {
    const found = html.match(pattern);
    expect(found, `${pattern} in the home page`).not.toBeNull();
    return found![1];
  };
  return {
    css: href(/<link id="leptos" rel="stylesheet" href="([^"]+)"/),
    js: href(/<link rel="modulepreload" href="([^"]+\.js)"/),
    wasm: href(/<link rel="preload" href="([^"]+\.wasm)"/),
  };
}
