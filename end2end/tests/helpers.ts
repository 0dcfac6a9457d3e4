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
