import { expect, test, type Page, type Response } from "@playwright/test";

const coop = process.env.COOP_URL ?? "http://127.0.0.1:3030";

/** Every response body the page receives, to search for tokens. */
function recordBodies(page: Page): string[] {
  const bodies: string[] = [];
  page.on("response", async (response: Response) => {
    try {
      bodies.push(`${response.url()}\n${await response.text()}`);
    } catch {
      // Redirects and aborted requests have no body.
    }
  });
  return bodies;
}

async function logIn(page: Page, farmer: string): Promise<number> {
  await page.goto("/");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  const started = Date.now();
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(new RegExp(`^${coop}/authorize`));
  await page.getByLabel("Farmer name").fill(farmer);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("farmer-name")).toBeVisible();
  const elapsed = Date.now() - started;
  // The name is in the server's HTML: wait until the page is live before pressing its buttons.
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  return elapsed;
}

// A JWT (access or ID token) starts with base64url of '{"': eyJ.
const JWT = /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/;

test("log in, stay logged in across a reload, and no token ever reaches the browser", async ({ page }) => {
  const bodies = recordBodies(page);
  const elapsed = await logIn(page, "ada");
  console.log(`login time (click "Log in" → name shown, through COOP's form): ${elapsed} ms`);
  await expect(page.getByTestId("farmer-name")).toHaveText("Ada Henhouse");
  await expect(page).toHaveURL(/127\.0\.0\.1:3000\/$/);

  const reload = await page.reload();
  const html = await reload!.text();
  expect(html, "the server renders the logged-in header").toContain("Ada Henhouse");
  await expect(page.getByTestId("farmer-name")).toHaveText("Ada Henhouse");
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();

  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "__Host-topcluck");
  expect(session, "the session cookie is set").toBeDefined();
  expect(session!.httpOnly).toBe(true);
  expect(session!.secure).toBe(true);
  expect(session!.sameSite).toBe("Strict");
  console.log(`session cookie value: ${session!.value.length} bytes`);

  const visible = await page.evaluate(() => ({
    cookie: document.cookie,
    local: JSON.stringify({ ...localStorage }),
    session: JSON.stringify({ ...sessionStorage }),
    html: document.documentElement.outerHTML,
  }));
  expect(visible.cookie).not.toContain("topcluck");
  for (const [where, text] of Object.entries(visible)) {
    expect(text, where).not.toMatch(JWT);
    // Token fields as JSON keys or form parameters (not the session info's *_expires_at).
    expect(text, where).not.toMatch(/["']?(refresh_token|access_token|id_token)["']?\s*[:=]/);
  }
  expect(visible.session, "the pending login is cleared").toBe("{}");
  await page.waitForLoadState("networkidle");
  expect(bodies.length).toBeGreaterThan(5);
  for (const body of bodies) {
    expect(body).not.toMatch(JWT);
    expect(body).not.toMatch(/"(refresh_token|access_token|id_token)"/);
  }
});

test("log out revokes the refresh token at COOP and ends the session", async ({ page, request }) => {
  await logIn(page, "bert");
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
  await expect(page).toHaveURL(/127\.0\.0\.1:3000\/$/);
  await expect(page.getByTestId("farmer-name")).toHaveCount(0);

  const grants = await (await request.get(`${coop}/dev/grants?username=bert`)).json();
  expect(grants.grants[0].revoked_reason).toBe("refresh token revoked");
  const session = await request.get("/bff/session");
  expect(session.status()).toBe(401);
  // The COOP session ended too: the next login shows COOP's form again.
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByLabel("Farmer name")).toBeVisible();
});

test("logging out during a COOP outage logs out here and says the access is not withdrawn yet", async ({ page, request }) => {
  await logIn(page, "clara");
  const down = await request.post(`${coop}/dev/faults`, { data: { unavailable_seconds: 600 } });
  expect(down.ok()).toBe(true);
  try {
    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page.getByRole("status")).toContainText("COOP could not be reached to withdraw TopCluck's access");
    await expect(page.getByRole("button", { name: "Log in" }).first()).toBeVisible();
    expect((await request.get("/bff/session")).status()).toBe(401);
  } finally {
    await request.delete(`${coop}/dev/faults`);
  }
  // The grant ends: COOP's end-session (reached with the hint) revokes it, and the BFF's
  // background retry would too (server/tests/login.rs proves the retry without end-session).
  await expect
    .poll(async () => (await (await request.get(`${coop}/dev/grants?username=clara`)).json()).grants[0].revoked_reason, {
      timeout: 15_000,
    })
    .not.toBeNull();
});

test("the login returns to the page it started from", async ({ page }) => {
  await page.goto("/no/such/coop");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByLabel("Farmer name").fill("clara");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("farmer-name")).toHaveText("Clara Combs");
  await expect(page).toHaveURL(/\/no\/such\/coop$/);
});

test("callback failures say what happened and offer to try again", async ({ page }) => {
  await page.goto("/callback?error=access_denied&error_description=The+farmer+said+no&state=x");
  await expect(page.getByRole("alert")).toContainText("You did not allow TopCluck to log you in");
  await expect(page.locator(".callback").getByRole("button", { name: "Log in" })).toBeVisible();

  await page.goto("/callback?code=abc&state=xyz");
  await expect(page.getByRole("alert")).toContainText("started in another tab or has expired");

  await page.evaluate(() =>
    sessionStorage.setItem(
      "topcluck.login",
      JSON.stringify({ state: "mine", code_verifier: "v", redirect_uri: "http://127.0.0.1:3000/callback", return_to: "/" }),
    ),
  );
  await page.goto("/callback?code=abc&state=theirs");
  await expect(page.getByRole("alert")).toContainText("does not belong to the login started here");

  await page.evaluate(() =>
    sessionStorage.setItem(
      "topcluck.login",
      JSON.stringify({ state: "mine", code_verifier: "v".repeat(43), redirect_uri: "http://127.0.0.1:3000/callback", return_to: "/" }),
    ),
  );
  // A code and state this browser's BFF never opened a login transaction for (what script
  // injected elsewhere would bring): refused before COOP is asked.
  await page.goto("/callback?code=not-a-real-code&state=mine");
  await expect(page.getByRole("alert")).toContainText("This login was not started in this browser");
  await page.locator(".callback").getByRole("button", { name: "Log in" }).click();
  await expect(page.getByLabel("Farmer name")).toBeVisible();
});
