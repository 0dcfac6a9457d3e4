import { expect, test } from "@playwright/test";
import { expectVisibleFocus, holdNextRecord, recordButton, tabTo, whileCoopIsDown } from "./helpers";

// Issue 12: a farmer who uses only the keyboard logs in (through COOP's form), records eggs and
// logs out. Only page.keyboard moves and acts here: Tab, Shift+Tab, Enter, typing; no click,
// no fill. The focused control must show that it has the focus.

test("keyboard only: log in through COOP's form, record eggs, log out", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  const header = page.locator(".site-header");

  // Home: Tab to the header's "Log in"; it shows the focus (the app's own ring, not the
  // browser's thin default).
  const logIn = header.getByRole("button", { name: "Log in" });
  await tabTo(page, logIn);
  await expectVisibleFocus(logIn, 2);
  await page.keyboard.press("Enter");

  // COOP's form: the farmer name field has the focus (autofocus); type, Tab to "Log in", Enter.
  const name = page.getByLabel("Farmer name");
  await expect(name).toBeFocused();
  await page.keyboard.type("ada");
  const coopLogIn = page.getByRole("button", { name: "Log in" });
  await tabTo(page, coopLogIn);
  await expectVisibleFocus(coopLogIn);
  await page.keyboard.press("Enter");

  // The farm page.
  const count = page.getByTestId("egg-count");
  await expect(count).toBeVisible();
  await expect(header.getByTestId("farmer-name")).toHaveText("Ada Henhouse");
  const start = Number(await count.textContent());

  // Record: Tab to "Eggs collected", type, Enter submits the form.
  const eggs = page.getByLabel("Eggs collected");
  await tabTo(page, eggs);
  await expectVisibleFocus(eggs, 2);
  await page.keyboard.type("3");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("record-status")).toHaveText(`Recorded 3. Today's total: ${start + 3}.`);
  await expect(count).toHaveText(String(start + 3));

  // An invalid number is refused, by keyboard too; then "Record" itself, reached by Tab.
  await expect(eggs).toBeFocused();
  await page.keyboard.press("Control+A");
  await page.keyboard.type("0");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("record-error")).toHaveText("Enter a number from 1 to 100000.");
  await page.keyboard.press("Control+A");
  await page.keyboard.type("2");
  const button = recordButton(page);
  await tabTo(page, button);
  await expect(button).toHaveText("Record");
  await expectVisibleFocus(button, 2);
  // While the record is under way the button is unavailable and keeps the focus (a disabled
  // button would drop it to <body>, and the farmer's place with it).
  const release = await holdNextRecord(page);
  await page.keyboard.press("Enter");
  await expect(button).toHaveText("Recording…");
  await expect(button).toBeDisabled();
  await expect(button).toBeFocused();
  release();
  await expect(page.getByTestId("record-status")).toHaveText(`Recorded 2. Today's total: ${start + 5}.`);
  await expect(count).toHaveText(String(start + 5));
  await expect(button).toHaveText("Record");
  await expectVisibleFocus(button, 2);

  // Log out: back (Shift+Tab) to the header's "Log out", Enter.
  const logOut = header.getByRole("button", { name: "Log out" });
  await tabTo(page, logOut, { back: true });
  await expectVisibleFocus(logOut, 2);
  await page.keyboard.press("Enter");
  await expect(header.getByRole("button", { name: "Log in" })).toBeVisible();
  await expect(header.getByTestId("farmer-name")).toHaveCount(0);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Count your eggs, not your logins.");
  expect((await page.request.get("/bff/session")).status(), "the session is gone").toBe(401);
});

test("keyboard only: the header menu opens with Enter and its links are reached by Tab", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  const menuButton = page.getByRole("button", { name: "Menu" });
  await tabTo(page, menuButton);
  await expectVisibleFocus(menuButton, 2);
  await page.keyboard.press("Enter");
  await expect(menuButton).toHaveAttribute("aria-expanded", "true");
  const home = page.locator("#site-menu").getByRole("link", { name: "Home" });
  await tabTo(page, home);
  await expectVisibleFocus(home, 2);
  // Back to the button, Enter closes the menu.
  await tabTo(page, menuButton, { back: true });
  await page.keyboard.press("Enter");
  await expect(menuButton).toHaveAttribute("aria-expanded", "false");
  await expect(page.locator("#site-menu")).toBeHidden();
});

test("keyboard only: after the session ends, 'Log in again' is reached by Tab and logs in", async ({ page, request }) => {
  await page.goto("/");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await tabTo(page, page.locator(".site-header").getByRole("button", { name: "Log in" }));
  await page.keyboard.press("Enter");
  await expect(page.getByLabel("Farmer name")).toBeFocused();
  await page.keyboard.type("bert");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("egg-count")).toBeVisible();

  // The session ends: its cookie is gone (COOP's too: cookies do not tell ports apart); the next
  // record says so. (COOP is down meanwhile, so the page cannot sign the farmer back in.)
  await page.context().clearCookies();
  const banner = page.locator(".banner-ended");
  await whileCoopIsDown(request, async () => {
    await tabTo(page, page.getByLabel("Eggs collected"));
    await page.keyboard.type("1");
    await page.keyboard.press("Enter");
    await expect(banner).toContainText("Your session has ended — log in again.");
  });
  const again = banner.getByRole("button", { name: "Log in again" });
  await tabTo(page, again, { back: true });
  await expectVisibleFocus(again, 2);
  await page.keyboard.press("Enter");
  // COOP's session was cleared with the cookies: its form again, the name field focused.
  await expect(page.getByLabel("Farmer name")).toBeFocused();
  await page.keyboard.type("bert");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("egg-count")).toBeVisible();
  await expect(page.getByTestId("farmer-name")).toHaveText("Bert Barnes");
});
