import { expect, test, type APIRequestContext } from "@playwright/test";
import { coop, holdNextRecord, logIn, record, recordButton } from "./helpers";

// The test command runs the server with COOP_ACCESS_TOKEN_TTL=3 and TOPCLUCK_REFRESH_SKEW=1.

async function refreshes(request: APIRequestContext): Promise<number> {
  const counters = await (await request.get(`${coop}/dev/counters`)).json();
  return counters.token_requests?.refresh_token?.ok ?? 0;
}

test("after the access token expires, recording eggs still works: the BFF renewed it", async ({ page, request }) => {
  await logIn(page, "ada");
  const before = await refreshes(request);
  const start = Number(await page.getByTestId("egg-count").textContent());
  await page.waitForTimeout(3500);
  await record(page, "2");
  await expect(page.getByTestId("record-status")).toContainText(`Recorded 2. Today's total: ${start + 2}.`);
  await expect(page.getByTestId("egg-count")).toHaveText(String(start + 2));
  expect(await refreshes(request)).toBeGreaterThan(before);
  await expect(page.getByTestId("renewed-at")).toContainText("s ago");

  // Bad input is refused in the page, with nothing sent.
  await record(page, "0");
  await expect(page.getByRole("alert")).toContainText("Enter a number from 1 to 100000.");
});

/** COOP withdraws every token it gave `farmer` (its own session lives on). */
async function revoke(request: APIRequestContext, farmer: string) {
  for (const path of ["/dev/grants/revoke", "/dev/access-tokens/revoke"]) {
    expect((await request.post(`${coop}${path}`, { data: { username: farmer } })).ok()).toBe(true);
  }
}

test("a revoked grant ends the session: signed back in once; ended again moments later, the record button comes back, the page says log in again, the header shows Log in", async ({ page, request }) => {
  await logIn(page, "bert");
  const header = page.locator(".site-header");
  await expect(header.getByTestId("farmer-name")).toHaveText("Bert Barnes");
  await expect(header.getByRole("button", { name: "Log out" })).toBeVisible();
  let silentStarts = 0;
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (url.pathname === "/bff/login" && url.searchParams.get("prompt") === "none") silentStarts++;
  });

  // The first end: COOP's own session lives, so the page signs the farmer back in (see
  // silent-login.spec.ts) — a new session, redeemed at the callback.
  await revoke(request, "bert");
  const redeemed = page.waitForResponse((r) => new URL(r.url()).pathname === "/bff/login" && r.request().method() === "POST");
  await record(page, "1");
  expect((await redeemed).status()).toBe(200);
  await expect(page.getByTestId("egg-count")).toBeVisible();
  await expect(header.getByTestId("farmer-name")).toHaveText("Bert Barnes");

  // Ended again within minutes: no second silent try (never a loop). The page says so.
  await revoke(request, "bert");
  const release = await holdNextRecord(page);
  await record(page, "1");
  const button = recordButton(page);
  await expect(button).toHaveText("Recording…");
  await expect(button).toBeDisabled();
  release();
  const banner = page.locator(".banner-ended");
  await expect(banner).toContainText("Your session has ended — log in again.");
  await expect(button).toHaveText("Record");
  await expect(button).toBeEnabled();
  await expect(page.getByTestId("record-error")).toContainText("Your 1 egg was not recorded: your session has ended.");
  // The header follows at once: no farmer, no "Log out", a "Log in" instead.
  await expect(header.getByTestId("farmer-name")).toHaveCount(0);
  await expect(header.getByRole("button", { name: "Log out" })).toHaveCount(0);
  await expect(header.getByRole("button", { name: "Log in" })).toBeVisible();
  await expect(page.getByTestId("session-ended")).toBeVisible();
  const session = await page.request.get("/bff/session");
  expect(session.status(), "the session cookie was cleared").toBe(401);
  expect(silentStarts, "one silent try").toBe(1);

  await banner.getByRole("button", { name: "Log in again" }).click();
  // COOP still knows the farmer: no form, straight back, logged in again.
  await expect(page.getByTestId("egg-count")).toBeVisible();
  await expect(header.getByTestId("farmer-name")).toHaveText("Bert Barnes");
  await expect(header.getByRole("button", { name: "Log out" })).toBeVisible();
  await expect(page).toHaveURL(/127\.0\.0\.1:3000\/$/);
  await expect(banner).toHaveCount(0);
});

test("during a COOP outage the page says it will retry, and recovers", async ({ page, request }) => {
  await logIn(page, "clara");
  const faults = await request.post(`${coop}/dev/faults`, { data: { unavailable_seconds: 6 } });
  expect(faults.status()).toBe(204);
  try {
    await page.waitForTimeout(3500);
    await page.reload();
    await expect(page.locator(".banner-retry")).toContainText("COOP is unavailable right now. Retrying in");
    await expect(page.getByTestId("farmer-name")).toHaveText("Clara Combs");
    await expect(page.getByTestId("egg-count")).toBeVisible({ timeout: 25_000 });
    await expect(page.locator(".banner-retry")).toHaveCount(0);
  } finally {
    await request.delete(`${coop}/dev/faults`);
  }
});
