import { expect, test, type Page } from "@playwright/test";
import { coop, countEggs, expectNoAxeViolations, logIn, record, whileCoopIsDown } from "./helpers";

// Issue 12: every page and state of TopCluck, and COOP's pages a farmer passes through, checked
// with axe-core's WCAG 2.1 A/AA rules in the real Chromium against the real server and COOP.
// Each check prints "axe: <state> — 0 violations, N rules passed".
//
// The test command runs the server with COOP_ACCESS_TOKEN_TTL=3 and TOPCLUCK_REFRESH_SKEW=1:
// 3.5 s after logging in, the next call needs a refresh at COOP.

/** The farm page, loaded: today's count and the daily-counting card are shown. */
async function farmLoaded(page: Page) {
  await expect(page.getByTestId("egg-count")).toBeVisible();
  await expect(page.getByTestId("counting-status")).toBeVisible();
}

/** Starts a login and waits at COOP's form; returns the login's `state` (the BFF's answer
 * to `GET /bff/login` gives it: the request itself was pushed to COOP, the authorize URL
 * carries only its `request_uri`). */
async function startLogin(page: Page): Promise<string> {
  await page.goto("/");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  let state: string | undefined;
  const opening = (url: URL) => url.pathname === "/bff/login";
  await page.route(opening, async (route) => {
    if (route.request().method() !== "GET") return route.fallback();
    const response = await route.fetch();
    state = (await response.json()).state;
    await route.fulfill({ response });
  });
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByLabel("Farmer name")).toBeVisible();
  await page.unroute(opening);
  expect(state, "the login transaction has a state").toBeTruthy();
  return state!;
}

/** The callback page's failure, once the browser build has shown it. */
async function callbackFailed(page: Page, says: string | RegExp) {
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("The login did not work");
  await expect(page.locator(".callback").getByRole("alert")).toContainText(says);
  await expect(page.locator(".callback").getByRole("button", { name: "Log in" })).toBeVisible();
}

test("logged out: home, the header menu, the 404 page, the logout notice", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Count your eggs, not your logins.");
  await expectNoAxeViolations(page, "home page, logged out");

  await page.getByRole("button", { name: "Menu" }).click();
  await expect(page.locator("#site-menu")).toBeVisible();
  await expectNoAxeViolations(page, "home page, header menu open");

  const missing = await page.goto("/no/such/coop");
  expect(missing?.status()).toBe(404);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Page not found");
  await expectNoAxeViolations(page, "404 page");

  // What logging out left to say, as `logout()` (app/src/auth/browser.rs) keeps it for the next
  // page: gloo-storage's JSON string under `topcluck.notice`.
  const notice =
    "You are logged out of TopCluck, but COOP could not be reached to withdraw TopCluck's access. TopCluck keeps trying.";
  await page.evaluate((text) => sessionStorage.setItem("topcluck.notice", JSON.stringify(text)), notice);
  await page.goto("/");
  await expect(page.getByRole("status").filter({ hasText: "COOP could not be reached" })).toHaveText(notice);
  await expectNoAxeViolations(page, "home page with the logout notice");
});

test("callback errors: access denied, no pending login, a state mismatch, a code the BFF refuses", async ({ page }) => {
  await page.goto("/callback?error=access_denied&error_description=The+farmer+said+no&state=x");
  await callbackFailed(page, "You did not allow TopCluck to log you in: The farmer said no.");
  await expectNoAxeViolations(page, "callback: access_denied");

  await page.goto("/callback?code=abc&state=xyz");
  await callbackFailed(page, "This login was started in another tab or has expired.");
  await expectNoAxeViolations(page, "callback: no pending login");

  // A login really started (COOP's form is shown), answered with another state.
  await startLogin(page);
  await expectNoAxeViolations(page, "COOP login form");
  await page.goto("/callback?code=abc&state=not-the-one-sent");
  await callbackFailed(page, "does not belong to the login started here");
  await expectNoAxeViolations(page, "callback: state mismatch");

  // The right state with a code COOP never issued: the BFF refuses it.
  const state = await startLogin(page);
  await page.goto(`/callback?code=not-a-real-code&state=${encodeURIComponent(state)}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("The login did not work");
  await expect(page.locator(".callback").getByRole("alert")).not.toBeEmpty();
  await expectNoAxeViolations(page, "callback: code refused");
});

test("COOP's login form with an error (an unknown farmer)", async ({ page }) => {
  await startLogin(page);
  await page.getByLabel("Farmer name").fill("nobody");
  await page.getByRole("button", { name: "Log in" }).click();
  const refused = "COOP has no farmer named \u201cnobody\u201d.";
  await expect(page.getByRole("alert")).toHaveText(refused);
  // The field says what is wrong with it when it takes the focus again (WCAG 3.3.1).
  const name = page.getByLabel("Farmer name");
  await expect(name).toBeFocused();
  await expect(name).toHaveAttribute("aria-invalid", "true");
  await expect(name).toHaveAccessibleDescription(refused);
  await expectNoAxeViolations(page, "COOP login form with an error");
});

test("farm page: loaded, the header menu open, after a record, after an invalid number", async ({ page }) => {
  await logIn(page, "ada");
  await farmLoaded(page);
  await expectNoAxeViolations(page, "farm page");

  await page.getByRole("button", { name: "Menu" }).click();
  await expect(page.locator("#site-menu")).toBeVisible();
  await expectNoAxeViolations(page, "farm page, header menu open");
  await page.getByRole("button", { name: "Menu" }).click();

  const start = Number(await page.getByTestId("egg-count").textContent());
  await record(page, "2");
  await expect(page.getByTestId("record-status")).toHaveText(`Recorded 2. Today's total: ${start + 2}.`);
  await expectNoAxeViolations(page, "farm page after a record (success note)");

  await record(page, "0");
  await expect(page.getByTestId("record-error")).toHaveText("Enter a number from 1 to 100000.");
  await expectNoAxeViolations(page, "farm page after an invalid number (error note)");
});

test("farm page: session ended (log in again)", async ({ page, request }) => {
  await logIn(page, "ada");
  await farmLoaded(page);
  await page.context().clearCookies();
  // With COOP down the page cannot sign the farmer back in, so it asks to log in again.
  await whileCoopIsDown(request, async () => {
    await record(page, "4");
    await expect(page.locator(".banner-ended")).toContainText("Your session has ended — log in again.");
    await expect(page.getByTestId("record-error")).toContainText("Your 4 eggs were not recorded: your session has ended.");
    await expect(page.getByTestId("session-ended")).toBeVisible();
    await expectNoAxeViolations(page, "farm page, session ended");
  });
});

test("farm page: COOP outage (retry banner, retry note) and TopCluck's configuration refused", async ({ page, request }) => {
  await logIn(page, "clara");
  await farmLoaded(page);
  const faults = await request.post(`${coop}/dev/faults`, { data: { unavailable_seconds: 30 } });
  expect(faults.status()).toBe(204);
  try {
    await page.waitForTimeout(3500);
    await page.reload();
    await expect(page.locator(".banner-retry")).toContainText("COOP is unavailable right now. Retrying in");
    await expectNoAxeViolations(page, "farm page, COOP outage banner");

    await record(page, "2");
    await expect(page.getByTestId("record-status")).toContainText("COOP is unavailable right now, so your 2 eggs were not recorded.");
    await expectNoAxeViolations(page, "farm page, record during the outage (retry note)");
  } finally {
    await request.delete(`${coop}/dev/faults`);
  }

  // COOP refusing TopCluck's own credentials cannot be caused on demand: the BFF's answer is
  // put in its place (as session-end.spec.ts does).
  await page.route("**/api/eggs", (route) =>
    route.request().method() === "GET"
      ? route.fulfill({
          status: 500,
          contentType: "application/json",
          body: JSON.stringify({ error: "client_misconfigured", message: "stand-in" }),
        })
      : route.fallback(),
  );
  await page.reload();
  await expect(page.locator(".banner-config")).toBeVisible();
  await expectNoAxeViolations(page, "farm page, configuration notice");
});

test("daily counting: COOP's consent page, a denied consent, the chart, a stopped grant", async ({ page, request }) => {
  test.setTimeout(60_000);
  // bert, as counting.spec.ts: it starts from "off" and ends "off" whatever is left here.
  await logIn(page, "bert");
  const panel = page.locator("article.counting");
  const status = panel.getByTestId("counting-status");
  const off = () => page.request.post("/bff/counting/off", { headers: { "X-CSRF": "1" }, data: {} });
  expect((await off()).ok()).toBe(true);
  try {
    await page.reload();
    await expect(status).toHaveText("Daily counting is off.");
    await expectNoAxeViolations(page, "farm page, daily counting off");

    await panel.getByRole("button", { name: "Turn on" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("TopCluck wants to count your eggs while you are away");
    await expectNoAxeViolations(page, "COOP consent page");
    await page.getByRole("button", { name: "Deny" }).click();
    await callbackFailed(page, "You did not allow TopCluck to log you in: the farmer did not allow it.");
    await expectNoAxeViolations(page, "callback: consent denied at COOP");

    await page.goto("/");
    await panel.getByRole("button", { name: "Turn on" }).click();
    await page.getByRole("button", { name: "Allow" }).click();
    await expect(status).toContainText(/^Daily counting: on since /);
    await countEggs(page.request);
    await page.reload();
    await expect(status).toContainText(/last counted /);
    await expect(panel.getByTestId("counting-chart")).toBeVisible();
    await expectNoAxeViolations(page, "farm page, daily counting on, with the chart");

    const revoked = await request.post(`${coop}/dev/grants/revoke`, { data: { username: "bert", offline: true } });
    expect(revoked.ok()).toBe(true);
    await countEggs(page.request);
    await page.reload();
    await expect(panel.getByRole("alert")).toContainText("Daily counting stopped on");
    await expectNoAxeViolations(page, "farm page, daily counting stopped (consent needed)");
  } finally {
    await off();
  }
});

test("COOP's logout confirmation page", async ({ page }) => {
  await logIn(page, "clara");
  // Without an id_token_hint, COOP asks a farmer with a live session before logging out.
  await page.goto(`${coop}/end-session`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Log out of COOP?");
  await expectNoAxeViolations(page, "COOP logout confirmation");
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Logged out");
  await expect(page.getByText("You are logged out of COOP.")).toBeVisible();
  await expectNoAxeViolations(page, "COOP logged-out page");
});
