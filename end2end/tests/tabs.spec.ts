import { expect, test, type Page } from "@playwright/test";
import { coop, holdSilentStart, logIn, record, whileCoopIsDown } from "./helpers";

// One app across tabs: what one tab learns about the session, every open tab shows within a
// second, without asking the server (BroadcastChannel). And a tab that comes back after the
// computer slept checks its session before showing what it showed before.

/** Opens the home page in another tab of the same browser and waits until it is hydrated. */
async function openTab(page: Page): Promise<Page> {
  const tab = await page.context().newPage();
  await tab.goto("/");
  await expect(tab.locator("html")).toHaveAttribute("data-hydrated", "true");
  return tab;
}

/** Records every request `page` sends to the BFF or the API from now on. */
function serverCalls(page: Page): string[] {
  const calls: string[] = [];
  page.on("request", (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith("/bff/") || path.startsWith("/api/")) calls.push(`${r.method()} ${path}`);
  });
  return calls;
}

test("logging out in one tab logs out every tab within a second; logging in again brings them back", async ({ page }) => {
  await logIn(page, "clara");
  const other = await openTab(page);
  const header = other.locator(".site-header");
  await expect(header.getByTestId("farmer-name")).toHaveText("Clara Combs");
  await expect(other.getByTestId("egg-count")).toBeVisible();
  const calls = serverCalls(other);

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(header.getByRole("button", { name: "Log in" })).toBeVisible({ timeout: 1_000 });
  await expect(header.getByTestId("farmer-name")).toHaveCount(0);
  await expect(other.getByTestId("egg-count"), "the farm is gone from the other tab").toHaveCount(0);
  await expect(other.getByRole("heading", { name: "Count your eggs, not your logins." })).toBeVisible();
  expect(calls, "the other tab learned it without asking the server").toEqual([]);

  await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
  await logIn(page, "clara");
  await expect(header.getByTestId("farmer-name")).toHaveText("Clara Combs", { timeout: 2_000 });
  await expect(other.getByTestId("egg-count")).toBeVisible();
  await other.close();
});

test("a session that ended in one tab ends in all; the tab that learned it signs the farmer back in, once, and brings them all back", async ({ page, request }) => {
  await logIn(page, "bert");
  const other = await openTab(page);
  await expect(other.getByTestId("egg-count")).toBeVisible();
  const calls = serverCalls(other);
  const silentStarts = [page, other].map((tab) => {
    const seen = { count: 0 };
    tab.on("request", (r) => {
      const url = new URL(r.url());
      if (url.pathname === "/bff/login" && url.searchParams.get("prompt") === "none") seen.count++;
    });
    return seen;
  });
  // The first tab's silent login is held before it leaves, so both tabs can be seen meanwhile.
  const release = await holdSilentStart(page);

  // COOP withdraws everything (its own session lives): the next call in the first tab finds the
  // session over, and that tab signs the farmer back in.
  expect((await request.post(`${coop}/dev/grants/revoke`, { data: { username: "bert" } })).ok()).toBe(true);
  expect((await request.post(`${coop}/dev/access-tokens/revoke`, { data: { username: "bert" } })).ok()).toBe(true);
  await record(page, "1");
  await expect(page.locator(".site-header").getByRole("status")).toHaveText("Signing you back in…");
  await expect(other.locator(".banner-ended")).toContainText("Your session has ended — log in again.", { timeout: 1_000 });
  await expect(other.locator(".site-header").getByRole("button", { name: "Log in" })).toBeVisible();
  expect(calls, "the other tab learned it without asking the server").toEqual([]);
  // The other tab's own call finds the session ended too: it does not try as well.
  await record(other, "1");
  await expect(other.getByTestId("record-error")).toContainText("your session has ended");

  release();
  await expect(page.getByTestId("farmer-name")).toHaveText("Bert Barnes");
  await expect(page.getByTestId("egg-count")).toBeVisible();
  // Told "logged in", the other tab asks the BFF who it is and loads its data again.
  await expect(other.locator(".banner-ended")).toHaveCount(0, { timeout: 5_000 });
  await expect(other.getByTestId("farmer-name")).toHaveText("Bert Barnes");
  await expect(other.getByTestId("egg-count")).toBeVisible();
  expect(silentStarts[0].count + silentStarts[1].count, "one silent try across the tabs").toBe(1);
  await other.close();
});

test("a tab that comes back after the computer slept shows fresh data, not what it showed before", async ({ page, browser }) => {
  // The page's clock is Playwright's: "sleeping" moves it ten minutes on at once, as a laptop
  // lid closed and opened does.
  await page.clock.install();
  await logIn(page, "clara");
  const before = Number(await page.getByTestId("egg-count").textContent());

  // While the laptop sleeps, the farmer records 3 eggs on another computer.
  const elsewhere = await browser.newContext();
  try {
    const desk = await elsewhere.newPage();
    await logIn(desk, "clara");
    await record(desk, "3");
    await expect(desk.getByTestId("record-status")).toContainText(`Today's total: ${before + 3}.`);
  } finally {
    await elsewhere.close();
  }
  await expect(page.getByTestId("egg-count")).toHaveText(String(before));

  await page.clock.fastForward("10:00");
  await expect(page.getByTestId("egg-count")).toHaveText(String(before + 3));
  await expect(page.getByTestId("farmer-name")).toHaveText("Clara Combs");
});

test("a tab that comes back after the computer slept finds its ended session and says so", async ({ page, request }) => {
  await page.clock.install();
  await logIn(page, "ada");
  // The session cookie expired while the laptop slept, and COOP is down: the page cannot sign
  // the farmer back in (silent-login.spec.ts), so it asks to log in again.
  await page.context().clearCookies();
  await whileCoopIsDown(request, async () => {
    await page.clock.fastForward("10:00");
    await expect(page.locator(".banner-ended")).toContainText("Your session has ended — log in again.");
    await expect(page.getByTestId("egg-count")).toHaveCount(0);
    await expect(page.locator(".site-header").getByRole("button", { name: "Log in" })).toBeVisible();
  });
});
