import { expect, test, type Page, type Route } from "@playwright/test";
import { coop, expectRecordButtonBack, logIn, record, recordHeld } from "./helpers";

// The test command runs the server with COOP_ACCESS_TOKEN_TTL=3 and TOPCLUCK_REFRESH_SKEW=1:
// 3.5 s after logging in, the next call needs a refresh at COOP.

/** The farmer is still shown in the header, with "Log out". */
async function expectStillLoggedIn(page: Page, name: string) {
  const header = page.locator(".site-header");
  await expect(header.getByTestId("farmer-name")).toHaveText(name);
  await expect(header.getByRole("button", { name: "Log out" })).toBeVisible();
}

test("during a COOP outage the record button comes back with a retry notice, and recording works once COOP is back", async ({ page, request }) => {
  await logIn(page, "clara");
  const start = Number(await page.getByTestId("egg-count").textContent());
  const faults = await request.post(`${coop}/dev/faults`, { data: { unavailable_seconds: 30 } });
  expect(faults.status()).toBe(204);
  try {
    await page.waitForTimeout(3500);
    await recordHeld(page, "2");
    await expectRecordButtonBack(page);
    await expect(page.getByTestId("record-status")).toContainText(
      /^COOP is unavailable right now, so your 2 eggs were not recorded\. Try again in \d+ s\.$/,
    );
    await expect(page.getByTestId("record-error")).toHaveCount(0);
    await expect(page.getByTestId("egg-count")).toHaveText(String(start));
    await expect(page.getByLabel("Eggs collected"), "the farmer's number is kept to try again").toHaveValue("2");
    await expectStillLoggedIn(page, "Clara Combs");
  } finally {
    await request.delete(`${coop}/dev/faults`);
  }
  await record(page, "2");
  await expect(page.getByTestId("record-status")).toContainText(`Recorded 2. Today's total: ${start + 2}.`);
  await expectRecordButtonBack(page);
});

test("a COOP too slow to answer: the record button comes back with the BFF's answer", async ({ page, request }) => {
  test.setTimeout(60_000);
  await logIn(page, "clara");
  const faults = await request.post(`${coop}/dev/faults`, { data: { latency_ms: 15_000 } });
  expect(faults.status()).toBe(204);
  try {
    await page.waitForTimeout(3500);
    const started = Date.now();
    await recordHeld(page, "1");
    // The BFF waits for the refresh a while (10 s), then answers "retry".
    await expectRecordButtonBack(page, 25_000);
    console.log(`slow provider: record answered after ${Date.now() - started} ms`);
    await expect(page.getByTestId("record-status")).toContainText("COOP is unavailable right now, so your 1 egg was not recorded.");
    await expectStillLoggedIn(page, "Clara Combs");
  } finally {
    await request.delete(`${coop}/dev/faults`);
  }
  // The slow refresh finished in the BFF meanwhile; recording works again.
  await expect(async () => {
    await record(page, "1");
    await expect(page.getByTestId("record-status")).toContainText("Recorded 1.", { timeout: 5_000 });
  }).toPass({ timeout: 30_000 });
});

test("a session cookie that is gone ends the session the same way (unauthenticated)", async ({ page }) => {
  await logIn(page, "ada");
  // COOP's cookie goes too (cookies do not tell ports apart): the page's one silent try finds no
  // session at COOP and lands on the logged-out page, which says why (silent-login.spec.ts).
  await page.context().clearCookies();
  await recordHeld(page, "4");
  await expect(page.locator(".notice")).toHaveText("Your session ended. Log in to continue.");
  const header = page.locator(".site-header");
  await expect(header.getByTestId("farmer-name")).toHaveCount(0);
  await expect(header.getByRole("button", { name: "Log out" })).toHaveCount(0);
  await expect(header.getByRole("button", { name: "Log in" })).toBeVisible();
});

/** An answer in the BFF's error shape. */
function bffError(status: number, error: string, headers: Record<string, string> = {}) {
  return (route: Route) =>
    route.fulfill({
      status,
      contentType: "application/json",
      headers,
      body: JSON.stringify({ error, message: `the BFF's own sentence for ${error}` }),
    });
}

// Answers COOP cannot be made to give on demand (TopCluck's own configuration refused, a
// session too large for a cookie, the BFF's timeouts, an unreachable upstream, a lost
// connection, an unreadable answer) are put in place of the BFF's answer in the browser. Each
// must end "Recording…" and say what became of the eggs.
const standInAnswers: { name: string; answer: (route: Route) => Promise<void>; says: RegExp; where: "record-status" | "record-error" }[] = [
  {
    name: "client_misconfigured",
    answer: bffError(500, "client_misconfigured"),
    says: /^Your 3 eggs were not recorded\. TopCluck cannot renew your access right now: its configuration is being fixed\. You are still logged in\.$/,
    where: "record-status",
  },
  {
    name: "temporarily_unavailable with Retry-After",
    answer: bffError(503, "temporarily_unavailable", { "Retry-After": "7" }),
    says: /Try again in 7 s\.$/,
    where: "record-status",
  },
  {
    name: "session_too_large",
    answer: bffError(500, "session_too_large"),
    says: /^Your 3 eggs were not recorded\. COOP issued more than a browser cookie can hold/,
    where: "record-error",
  },
  {
    name: "payload_too_large",
    answer: bffError(413, "payload_too_large"),
    says: /^Your 3 eggs were not recorded: the request was too large for TopCluck\.$/,
    where: "record-error",
  },
  {
    name: "timeout",
    answer: bffError(504, "timeout"),
    says: /^TopCluck gave up waiting for the farm\. Your 3 eggs may or may not have been recorded/,
    where: "record-error",
  },
  {
    name: "bad_gateway",
    answer: bffError(502, "bad_gateway"),
    says: /^The farm's API could not be reached\. Your 3 eggs may or may not have been recorded/,
    where: "record-error",
  },
  {
    name: "a lost connection",
    answer: (route) => route.abort("connectionreset"),
    says: /^TopCluck cannot be reached: check your connection\. Your 3 eggs may or may not have been recorded/,
    where: "record-error",
  },
  {
    name: "an unreadable answer",
    answer: (route) => route.fulfill({ status: 201, contentType: "application/json", body: "{\"date\": " }),
    says: /^The farm's answer could not be read\. Your 3 eggs may or may not have been recorded/,
    where: "record-error",
  },
  {
    name: "the egg API's own refusal, passed through",
    answer: (route) => route.fulfill({ status: 422, contentType: "application/json", body: '{"error":"invalid_request"}' }),
    says: /^Your 3 eggs were not recorded: the farm refused the request \(HTTP 422\)\.$/,
    where: "record-error",
  },
];

test("every other answer ends 'Recording…' with a clear message, and keeps the farmer logged in", async ({ page }) => {
  await logIn(page, "ada");
  for (const { name, answer, says, where } of standInAnswers) {
    await test.step(name, async () => {
      await recordHeld(page, "3", answer);
      await expectRecordButtonBack(page);
      await expect(page.getByTestId(where)).toHaveText(says);
      await expect(page.locator(".banner-ended")).toHaveCount(0);
      await expectStillLoggedIn(page, "Ada Henhouse");
    });
  }
});

test("no answer at all: the browser gives up after 60 s and says the eggs may not be recorded", async ({ page }) => {
  await logIn(page, "ada");
  await page.clock.install();
  // The request is sent and its answer never comes.
  await recordHeld(page, "5", () => new Promise<void>(() => {}));
  await page.clock.fastForward(61_000);
  await expectRecordButtonBack(page);
  await expect(page.getByTestId("record-error")).toHaveText(
    /^TopCluck did not answer within 60 s\. Your 5 eggs may or may not have been recorded/,
  );
  await expectStillLoggedIn(page, "Ada Henhouse");
});

test("client_misconfigured while loading the farm: the page says so and the farmer stays logged in", async ({ page }) => {
  await logIn(page, "bert");
  await page.route("**/api/eggs", (route) =>
    route.request().method() === "GET" ? bffError(500, "client_misconfigured")(route) : route.fallback(),
  );
  await page.reload();
  await expect(page.locator(".banner-config")).toHaveText(
    "TopCluck cannot renew your access right now: its configuration is being fixed. You are still logged in.",
  );
  await expect(page.locator(".banner-config")).toHaveAttribute("role", "status");
  await expectStillLoggedIn(page, "Bert Barnes");
  await expect(page.locator(".banner-ended")).toHaveCount(0);
});

/** `at` (Unix seconds) as `<time datetime>` has it. */
function iso(at: number): string {
  return new Date(at * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The panel's "in …" for a moment `seconds` away (as `app/src/farm/time.rs` says it). */
function relative(seconds: number): string {
  if (seconds <= 0) return "now";
  if (seconds < 90) return `in ${seconds} s`;
  if (seconds < 5_400) return `in ${Math.floor((seconds + 30) / 60)} min`;
  if (seconds < 172_800) {
    const minutes = Math.floor((seconds + 30) / 60);
    return minutes % 60 === 0 ? `in ${minutes / 60} h` : `in ${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }
  return `in ${Math.floor((seconds + 43_200) / 86_400)} days`;
}

/** `at` as the panel writes it in the browser's time zone: "2026-11-23 11:31 UTC+01:00". */
async function absolute(page: Page, at: number): Promise<string> {
  const offset = await page.evaluate((t) => -new Date(t * 1000).getTimezoneOffset(), at);
  const local = new Date((at + offset * 60) * 1000).toISOString();
  const zone =
    offset === 0
      ? "UTC"
      : `UTC${offset < 0 ? "-" : "+"}${String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0")}:${String(Math.abs(offset) % 60).padStart(2, "0")}`;
  return `${local.slice(0, 10)} ${local.slice(11, 16)} ${zone}`;
}

/** The panel shows `at` as "in 8 h (2026-11-23 11:31 UTC)" (allowing for the seconds passing). */
async function expectExpiry(page: Page, testId: string, at: number) {
  const dd = page.getByTestId(testId);
  await expect(dd.locator("time")).toHaveAttribute("datetime", iso(at));
  const when = await absolute(page, at);
  const now = Math.floor(Date.now() / 1000);
  const expected = new Set([-2, -1, 0, 1, 2, 3, 4, 5].map((d) => `${relative(at - now - d)} (${when})`));
  await expect(dd).toHaveText(new RegExp(`^(${[...expected].map(escapeRegExp).join("|")})$`));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

test("the session panel shows when the refresh token and the session expire", async ({ page }) => {
  await logIn(page, "clara");
  const info = await (await page.request.get("/bff/session")).json();
  expect(info.session_expires_at, "the session ends in the future").toBeGreaterThan(Date.now() / 1000);
  await expectExpiry(page, "session-expiry", info.session_expires_at);
  if (info.refresh_token_expires_at === null) {
    await expect(page.getByTestId("refresh-expiry")).toHaveText("not said by the provider");
  } else {
    // COOP says when its refresh tokens expire (refresh_expires_in).
    await expectExpiry(page, "refresh-expiry", info.refresh_token_expires_at);
  }

  // The panel follows the BFF's session info after each call. A provider that does not say
  // when refresh tokens expire, and a session of a week (stand-in session info):
  const week = Math.floor(Date.now() / 1000) + 7 * 86_400;
  await page.route("**/bff/session", async (route) => {
    const real = await route.fetch();
    const body = await real.json();
    await route.fulfill({ response: real, json: { ...body, refresh_token_expires_at: null, session_expires_at: week } });
  });
  await record(page, "1");
  await expect(page.getByTestId("record-status")).toContainText("Recorded 1.");
  await expect(page.getByTestId("refresh-expiry")).toHaveText("not said by the provider");
  await expectExpiry(page, "session-expiry", week);
  await expect(page.getByTestId("session-expiry")).toContainText("in 7 days");
  await expect(page.getByTestId("access-expiry")).toContainText(/renews in \d+ s|expired/);
});
