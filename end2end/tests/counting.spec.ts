import { expect, test, type Page } from "@playwright/test";
import { coop, countEggs, logIn, record } from "./helpers";

// Issue 11's farm page: turning daily counting on through COOP's consent page, the job's pass
// (`POST /bff/dev/count-eggs`, the development server's stand-in for `server count-eggs`), the
// chart and "last counted", a grant revoked at COOP (the re-consent notice) and turning it on
// again. Counting state lives in the server's vault between tests, so the test starts by turning
// it off and ends by turning it off.

const farmer = "bert";

/** Daily counting's status for the farmer logged in in `page` (its cookies). */
async function countingStatus(page: Page) {
  const answer = await page.request.get("/bff/counting", { headers: { "X-CSRF": "1" } });
  expect(answer.ok()).toBe(true);
  return answer.json();
}

/** COOP's consent page for daily counting: Allow. */
async function allowAtCoop(page: Page) {
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(
    "TopCluck wants to count your eggs while you are away",
  );
  await page.getByRole("button", { name: "Allow" }).click();
}

test("daily counting: turned on through COOP's consent page, counted, shown; a revoked grant asks for consent again", async ({
  page,
  request,
}) => {
  test.setTimeout(60_000);
  await logIn(page, farmer);
  const panel = page.locator("article.counting");
  const status = panel.getByTestId("counting-status");

  // Start from "off", whatever an earlier run left in the vault.
  const off = await page.request.post("/bff/counting/off", { headers: { "X-CSRF": "1" }, data: {} });
  expect(off.ok()).toBe(true);
  await page.reload();
  await expect(status).toHaveText("Daily counting is off.");
  await expect(panel).toContainText("COOP asks you to allow it.");

  await record(page, "3");
  await expect(page.getByTestId("record-status")).toContainText("Recorded 3.");

  // Turn on: COOP's consent page, then back on the farm page.
  await panel.getByRole("button", { name: "Turn on" }).click();
  await allowAtCoop(page);
  await expect(page).toHaveURL(/127\.0\.0\.1:3000\/$/);
  await expect(status).toContainText(/^Daily counting: on since \w{3} \d{1,2}, \d{4}, last counted /);
  await expect(panel.getByRole("button", { name: "Turn off" })).toBeVisible();
  const offline = (await (await request.get(`${coop}/dev/grants?username=${farmer}`)).json()).grants.filter(
    (g: { offline: boolean; revoked_reason: string | null }) => g.offline && !g.revoked_reason,
  );
  expect(offline, "one live offline grant at COOP").toHaveLength(1);
  expect(offline[0].scope.split(" ").sort()).toEqual(["eggs:read", "offline_access", "openid"]);

  // The job counts; the page shows the count in the chart and when it was made.
  await countEggs(page.request);
  await page.reload();
  await expect(status).toContainText(/last counted \w{3} \d{1,2}, \d{4}, \d\d:\d\d UTC/);
  await expect(status).not.toContainText("not yet");
  const counted = await countingStatus(page);
  const today = counted.history.find((d: { date: string }) => d.date === counted.today);
  expect(today, "today has a count").toBeTruthy();
  const eggs = today.count === 1 ? "1 egg" : `${today.count} eggs`;
  const chart = panel.getByTestId("counting-chart");
  await expect(chart).toHaveAttribute("role", "img");
  await expect(chart).toHaveAttribute("aria-label", /Eggs counted each day from \w{3} \d+ to \w{3} \d+: \d+ days? with a count/);
  await expect(panel.locator("svg g.chart-day")).toHaveCount(30);
  await expect(panel.locator("svg g.chart-day.counted").last()).toContainText(String(today.count));
  await expect(panel.getByTestId("chart-today").locator("td")).toHaveText(eggs);
  await expect(panel.getByTestId("counting-table").locator("tbody tr")).toHaveCount(30);

  // COOP stops accepting the grant: the next pass finds out, the page asks for consent again.
  const revoked = await request.post(`${coop}/dev/grants/revoke`, { data: { username: farmer, offline: true } });
  expect(revoked.ok()).toBe(true);
  expect((await revoked.json()).revoked).toBe(1);
  await countEggs(page.request);
  await page.reload();
  const notice = panel.getByRole("alert");
  await expect(notice).toContainText(
    /Daily counting stopped on \w{3} \d{1,2}, \d{4}: COOP no longer accepts TopCluck's access\./,
  );
  // The history is kept.
  await expect(panel.getByTestId("chart-today").locator("td")).toHaveText(eggs);
  // Logged in all along: only the offline grant was revoked.
  await expect(page.getByTestId("egg-count")).toBeVisible();

  await panel.getByRole("button", { name: "Turn it on again" }).click();
  await allowAtCoop(page);
  await expect(page).toHaveURL(/127\.0\.0\.1:3000\/$/);
  await expect(status).toContainText(/^Daily counting: on since /);
  await expect(panel.getByRole("alert")).toHaveCount(0);

  // Turning off revokes the new grant at COOP.
  await panel.getByRole("button", { name: "Turn off" }).click();
  await expect(status).toHaveText("Daily counting is off.");
  await expect
    .poll(
      async () =>
        (await (await request.get(`${coop}/dev/grants?username=${farmer}`)).json()).grants.filter(
          (g: { offline: boolean; revoked_reason: string | null }) => g.offline && !g.revoked_reason,
        ).length,
      { timeout: 15_000 },
    )
    .toBe(0);
  // Turning counting off ended its own grant only: the session still renews and records (with
  // COOP keeping one grant per client and farmer too — scripts/test.sh's second pass).
  await record(page, "2");
  await expect(page.getByTestId("record-status")).toContainText("Recorded 2.");
  await expect(page.getByTestId("egg-count")).toBeVisible();
});
