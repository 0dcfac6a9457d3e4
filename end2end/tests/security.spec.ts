import { expect, test, type Page } from "@playwright/test";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { bundle, logIn, record } from "./helpers";

const baseURL = process.env.TOPCLUCK_URL ?? "http://127.0.0.1:3000";

declare global {
  interface Window {
    __violations?: string[];
    __pwned?: unknown;
  }
}

/**
 * Records every Content-Security-Policy violation the pages of `page` report, and every console
 * error and page error (Chromium also logs a refused script as a console error).
 */
async function watchViolations(page: Page): Promise<{ violations: () => Promise<string[]>; errors: string[] }> {
  // Init scripts run through the DevTools protocol, before the page's own scripts and outside
  // its policy: they see every violation from the first byte on.
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      window.__violations!.push(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`);
    });
  });
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`${message.text()} (${message.location().url})`);
  });
  return { violations: () => page.evaluate(() => window.__violations ?? []), errors };
}

function pageNonce(policy: string | undefined): string {
  const nonce = /'nonce-([A-Za-z0-9_-]+)'/.exec(policy ?? "")?.[1];
  expect(nonce, `no nonce in ${policy}`).toBeTruthy();
  return nonce!;
}

test("every page hydrates under its Content-Security-Policy with no violation", async ({ page }) => {
  const { violations, errors } = await watchViolations(page);
  for (const [path, status] of [
    ["/", 200],
    ["/no/such/page", 404],
  ] as const) {
    const response = await page.goto(path);
    expect(response?.status(), path).toBe(status);
    const policy = response?.headers()["content-security-policy"];
    expect(policy, path).toContain("frame-ancestors 'none'");
    expect(policy, path).toContain("object-src 'none'");
    expect(policy, path).toContain("base-uri 'none'");
    expect(policy, path).not.toContain("unsafe-inline");
    const nonce = pageNonce(policy);
    await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
    // The nonce is on the scripts the server sent (browsers hide it from the attribute once
    // parsed, so read the property).
    const scriptNonces = await page.locator("script").evaluateAll((scripts) =>
      scripts.map((script) => (script as HTMLScriptElement).nonce),
    );
    expect(scriptNonces.length, path).toBeGreaterThan(0);
    for (const scriptNonce of scriptNonces) expect(scriptNonce, path).toBe(nonce);
    expect(await violations(), path).toEqual([]);
  }
  // The 404 page's own status is logged as an error by Chromium; nothing else may be.
  expect(errors.filter((e) => !e.includes("status of 404"))).toEqual([]);
});

test("a logged-in farmer's pages work under the policy: login, the API, the renewal", async ({ page }) => {
  const { violations, errors } = await watchViolations(page);
  await logIn(page, "clara");
  const start = Number(await page.getByTestId("egg-count").textContent());
  await record(page, "3");
  await expect(page.getByTestId("egg-count")).toHaveText(String(start + 3));
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("egg-count")).toBeVisible();
  expect(await violations()).toEqual([]);
  // COOP's own pages are not TopCluck's: only TopCluck's errors count here.
  expect(errors.filter((e) => !e.includes("(http://127.0.0.1:3030/"))).toEqual([]);
});

test("script injected into the page without the nonce does not run", async ({ page }) => {
  const { violations } = await watchViolations(page);
  await page.goto("/");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");

  await page.evaluate(() => {
    // An inline script, as an XSS would add it.
    const inline = document.createElement("script");
    inline.textContent = "window.__pwned = 'inline script'";
    document.head.appendChild(inline);
    // One that guesses a nonce.
    const guessed = document.createElement("script");
    guessed.nonce = "AAAAAAAAAAAAAAAAAAAAAA";
    guessed.textContent = "window.__pwned = 'guessed nonce'";
    document.head.appendChild(guessed);
    // An event handler in injected markup.
    const holder = document.createElement("div");
    holder.innerHTML = `<img src="/favicon.svg?x" onload="window.__pwned = 'event handler'">`;
    document.body.appendChild(holder);
    // A script from another origin, and a javascript: URL.
    const remote = document.createElement("script");
    remote.src = "https://evil.example/steal.js";
    document.head.appendChild(remote);
    const link = document.createElement("a");
    link.href = "javascript:window.__pwned = 'javascript url'";
    document.body.appendChild(link);
    link.click();
  });
  // Wait until the browser has reported the refusals (they are events, after the fact).
  await expect.poll(async () => (await violations()).length).toBeGreaterThanOrEqual(5);
  expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  const seen = (await violations()).join("\n");
  // The inline script, the guessed nonce and the javascript: URL.
  expect(seen.match(/^script-src-elem blocked inline$/gm)?.length ?? 0, seen).toBeGreaterThanOrEqual(3);
  expect(seen, seen).toMatch(/^script-src-attr blocked inline$/m);
  expect(seen, seen).toContain("script-src-elem blocked https://evil.example/steal.js");
});

test("the page cannot be framed, by another site or by itself", async ({ page }) => {
  // Another site: a real server on this machine (so that Chromium's local-network checks let
  // its page frame a loopback address), another origin, with a page framing TopCluck's home.
  const framer = http.createServer((_, response) => {
    response.writeHead(200, { "content-type": "text/html" });
    response.end(`<!DOCTYPE html><title>framer</title><iframe src="${baseURL}/"></iframe>`);
  });
  await new Promise<void>((listening) => framer.listen(0, "127.0.0.1", listening));
  try {
    const { port } = framer.address() as AddressInfo;
    const refused = page.waitForEvent("requestfailed", (request) => request.url() === `${baseURL}/`);
    await page.goto(`http://127.0.0.1:${port}/`);
    expect((await refused).failure()?.errorText).toBe("net::ERR_BLOCKED_BY_RESPONSE");
    // `goto` waited for the load event, which waits for the frame: TopCluck's server-rendered
    // page would be in it now, were it allowed. Chromium shows its error page instead.
    expect(page.frames().length).toBe(2);
    expect(page.frames()[1].url()).toMatch(/^chrome-error:/);
    expect(await frameText(page, 1)).not.toContain("Count your eggs");
  } finally {
    framer.close();
  }

  // TopCluck framing itself (say, through injected markup) is refused too.
  await page.goto("/");
  await expect(page.locator("h1")).toHaveText("Count your eggs, not your logins.");
  const refused = page.waitForEvent("requestfailed", (request) => request.url() === `${baseURL}/`);
  await page.evaluate(
    () =>
      new Promise((loaded) => {
        const frame = document.createElement("iframe");
        frame.onload = loaded;
        frame.src = "/";
        document.body.appendChild(frame);
      }),
  );
  expect((await refused).failure()?.errorText).toBe("net::ERR_BLOCKED_BY_RESPONSE");
  expect(page.frames()[1].url()).toMatch(/^chrome-error:/);
  expect(await frameText(page, 1)).not.toContain("Count your eggs");
});

/** The text of the `index`th frame of `page`, or "" when it cannot be read (an error page). */
async function frameText(page: Page, index: number): Promise<string> {
  const frame = page.frames()[index];
  if (!frame) return "";
  return frame.evaluate(() => document.body?.innerText ?? "").catch(() => "");
}

test("answers that are not pages carry a policy under which nothing loads, and nosniff", async ({ request }) => {
  const { js } = await bundle(request);
  for (const path of ["/healthz", "/bff/session", js, "/favicon.svg"]) {
    const response = await request.get(path);
    expect(response.status(), path).toBeLessThan(500);
    expect(response.headers()["content-security-policy"], path).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(response.headers()["x-content-type-options"], path).toBe("nosniff");
    expect(response.headers()["referrer-policy"], path).toBe("no-referrer");
  }
});
