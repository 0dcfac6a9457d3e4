import { expect, test, type Page } from "@playwright/test";
import { coop, expectNoAxeViolations, holdSilentStart, logIn, record } from "./helpers";

// Silent login: when the farmer's TopCluck session ends while the page is open, the page tries
// once, top-level, to log in again with prompt=none (pushed to COOP by the BFF: the authorize URL
// carries client_id and request_uri only). COOP answers at once with a code when its own
// session lives, and `login_required` when it does not; never a loop.

/** What `page` sends from now on: silent login starts (`GET /bff/login?…&prompt=none`), the
 * authorize requests it makes at COOP, and the callbacks it lands on. */
function loginTraffic(page: Page) {
  const seen = { silentStarts: 0, authorizes: [] as string[], callbacks: [] as string[] };
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.pathname === "/bff/login" && request.method() === "GET" && url.searchParams.get("prompt") === "none") {
      seen.silentStarts++;
    }
    if (url.origin === coop && url.pathname === "/authorize") seen.authorizes.push(request.url());
    if (url.pathname === "/callback" && request.isNavigationRequest()) seen.callbacks.push(request.url());
  });
  return seen;
}

/** COOP withdraws every token it gave `farmer` (its own session lives on). */
async function revokeAtCoop(page: Page, farmer: string) {
  for (const path of ["/dev/grants/revoke", "/dev/access-tokens/revoke"]) {
    expect((await page.request.post(`${coop}${path}`, { data: { username: farmer } })).ok()).toBe(true);
  }
}

test("a session that ends while COOP's lives: 'Signing you back in…', then the same page, logged in, without the farmer doing anything", async ({ page }) => {
  await logIn(page, "ada");
  const start = Number(await page.getByTestId("egg-count").textContent());
  const traffic = loginTraffic(page);
  const release = await holdSilentStart(page);
  await revokeAtCoop(page, "ada");

  await record(page, "1");
  const header = page.locator(".site-header");
  await expect(header.getByRole("status")).toHaveText("Signing you back in…");
  await expect(page.locator(".banner-ended"), "no 'log in again' while it signs the farmer back in").toHaveCount(0);
  await expectNoAxeViolations(page, "farm page, signing the farmer back in");
  release();

  await expect(header.getByTestId("farmer-name")).toHaveText("Ada Henhouse");
  await expect(page.getByTestId("egg-count")).toHaveText(String(start));
  await expect(page).toHaveURL(/127\.0\.0\.1:3000\/$/);
  expect(traffic.silentStarts, "one silent try").toBe(1);
  expect(traffic.authorizes).toHaveLength(1);
  const sent = [...new URL(traffic.authorizes[0]).searchParams.keys()].sort();
  expect(sent, "the pushed request: client_id and request_uri only").toEqual(["client_id", "request_uri"]);
  // A new session: recording works again.
  await record(page, "2");
  await expect(page.getByTestId("record-status")).toContainText(`Recorded 2. Today's total: ${start + 2}.`);
});

test("a session that ends with COOP's: one silent try, then the logged-out page with the notice; no second try after reloads", async ({ page }) => {
  await logIn(page, "bert");
  const traffic = loginTraffic(page);
  // The farmer logs out of COOP in another tab of this browser (COOP's own page asks first):
  // COOP's session ends, and TopCluck's tokens with it.
  const coopTab = await page.context().newPage();
  await coopTab.goto(`${coop}/end-session`);
  await coopTab.getByRole("button", { name: "Log out" }).click();
  await expect(coopTab.getByText("You are logged out of COOP.")).toBeVisible();
  await coopTab.close();
  await revokeAtCoop(page, "bert");

  await record(page, "1");
  const notice = page.locator(".notice");
  await expect(notice).toHaveText("Your session ended. Log in to continue.");
  await expect(notice).toHaveAttribute("role", "status");
  const header = page.locator(".site-header");
  await expect(header.getByRole("button", { name: "Log in" })).toBeVisible();
  await expect(header.getByTestId("farmer-name")).toHaveCount(0);
  await expect(page).toHaveURL(/127\.0\.0\.1:3000\/$/);
  await expect(page.getByRole("heading", { name: "Count your eggs, not your logins." })).toBeVisible();
  expect(traffic.silentStarts, "one silent try").toBe(1);
  expect(traffic.authorizes, "one authorize request").toHaveLength(1);
  expect(traffic.callbacks).toHaveLength(1);
  await expectNoAxeViolations(page, "logged out after a silent login found no session (notice)");

  // Reloading the page, or the callback itself, tries nothing again.
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.goto(traffic.callbacks[0]);
  await expect(notice).toHaveText("Your session ended. Log in to continue.");
  await expect(page).toHaveURL(/127\.0\.0\.1:3000\/$/);
  await page.waitForTimeout(1_000);
  expect(traffic.silentStarts, "still one silent try").toBe(1);
  expect(traffic.authorizes).toHaveLength(1);

  // The farmer logs in: COOP's form, and back.
  await header.getByRole("button", { name: "Log in" }).click();
  await page.getByLabel("Farmer name").fill("bert");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(header.getByTestId("farmer-name")).toHaveText("Bert Barnes");
  expect(traffic.silentStarts).toBe(1);
});

test("logging out is not a session end: no silent try, in this tab or another", async ({ page }) => {
  await logIn(page, "clara");
  const other = await page.context().newPage();
  await other.goto("/");
  await expect(other.getByTestId("farmer-name")).toHaveText("Clara Combs");
  const traffic = [loginTraffic(page), loginTraffic(other)];

  await page.getByRole("button", { name: "Log out" }).click();
  for (const tab of [page, other]) {
    await expect(tab.locator(".site-header").getByRole("button", { name: "Log in" })).toBeVisible();
  }
  await page.waitForTimeout(1_000);
  for (const seen of traffic) {
    expect(seen.silentStarts).toBe(0);
    expect(seen.authorizes).toHaveLength(0);
  }
  await other.close();
});

// Two tabs that see the session end at once: tabs.spec.ts.

test("a logout whose answer is lost is still not a session end: the other tab, finding the session gone, tries nothing", async ({ page }) => {
  await logIn(page, "clara");
  const other = await page.context().newPage();
  await other.goto("/");
  await expect(other.getByTestId("farmer-name")).toHaveText("Clara Combs");
  const traffic = [loginTraffic(page), loginTraffic(other)];

  // The BFF logs out; its answer never reaches the page (COOP's own session lives on).
  await page.route("**/bff/logout", async (route) => {
    await route.fetch();
    await route.abort("connectionreset");
  });
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.locator(".site-header").getByRole("button", { name: "Log in" })).toBeVisible();
  // The other tab asks, finds the session gone, and must not sign the farmer back in.
  await other.reload();
  await expect(other.locator(".site-header").getByRole("button", { name: "Log in" })).toBeVisible();
  await other.waitForTimeout(1_000);
  for (const seen of traffic) {
    expect(seen.silentStarts).toBe(0);
    expect(seen.authorizes).toHaveLength(0);
  }
  await other.close();
});
