import { expect, test } from "@playwright/test";
import { bundle } from "./helpers";

test("home page hydrates and its menu opens only after hydration", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });

  const response = await page.goto("/");
  expect(response?.status()).toBe(200);
  await expect(page).toHaveTitle("Home · TopCluck");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Count your eggs, not your logins.");

  // The WASM bundle takes over the server-rendered page.
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");

  const menuButton = page.getByRole("button", { name: "Menu" });
  const menu = page.locator("#site-menu");
  await expect(menuButton).toHaveAttribute("aria-expanded", "false");
  await expect(menu).toBeHidden();
  await menuButton.click();
  await expect(menuButton).toHaveAttribute("aria-expanded", "true");
  await expect(menu).toBeVisible();
  await expect(menu.getByRole("link", { name: "Home" })).toBeVisible();
  await menuButton.click();
  await expect(menu).toBeHidden();

  expect(errors).toEqual([]);
});

test("without JavaScript the page is server-rendered but the menu stays closed", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Count your eggs, not your logins.");
  await expect(page.locator("html")).not.toHaveAttribute("data-hydrated", "true");
  await page.getByRole("button", { name: "Menu" }).click();
  await expect(page.getByRole("button", { name: "Menu" })).toHaveAttribute("aria-expanded", "false");
  await expect(page.locator("#site-menu")).toBeHidden();
  await context.close();
});

test("an unknown path answers 404 with the TopCluck 404 page", async ({ page }) => {
  const response = await page.goto("/no/such/coop");
  expect(response?.status()).toBe(404);
  await expect(page).toHaveTitle("Page not found · TopCluck");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Page not found");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.getByRole("link", { name: "Back to the farm" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Count your eggs, not your logins.");
});

test("static assets are served: stylesheet, favicon and WASM bundle", async ({ request }) => {
  const { css, js, wasm } = await bundle(request);
  for (const path of [css, "/favicon.svg", js, wasm]) {
    const response = await request.get(path, { headers: { "accept-encoding": "br, gzip" } });
    expect(response.status(), path).toBe(200);
    expect(response.headers()["vary"], path).toContain("accept-encoding");
    // Hashed names (cargo-leptos's hash files) are kept for good; the rest is revalidated or
    // kept for an hour.
    const hashed = /^\/pkg\/topcluck\.[A-Za-z0-9_-]{22}\.(css|js|wasm)$/.test(path);
    const expected = hashed ? "public, max-age=31536000, immutable" : path.startsWith("/pkg/") ? "no-cache" : "public, max-age=3600";
    expect(response.headers()["cache-control"], path).toBe(expected);
  }
  expect((await request.get(wasm)).headers()["content-type"]).toBe("application/wasm");
  const health = await request.get("/healthz");
  expect(await health.json()).toEqual({ status: "ok" });
});

test("with no issuer configured the server runs COOP, the development provider", async ({ request }) => {
  const coop = process.env.COOP_URL ?? "http://127.0.0.1:3030";
  const response = await request.get(`${coop}/.well-known/openid-configuration`);
  expect(response.status()).toBe(200);
  const discovery = await response.json();
  expect(discovery.issuer).toBe(coop);
  expect(discovery.code_challenge_methods_supported).toEqual(["S256"]);
});
