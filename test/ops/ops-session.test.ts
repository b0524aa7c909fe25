/**
 * The /ops page keeps its session: with a 4-second access token (JWT_TTL=4), a FOUNDER who signs in stays signed in
 * and live for several of its lifetimes (the page exchanges its refresh token before the JWT runs out), every
 * refresh rotating the stored tokens; a session ended on the server signs the page out at its next refresh; and
 * the Sign out button ends the session on the server, not only in the page. Real headless Chromium, production mode.
 */
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.ts";
import { createMember, type Member } from "../support/members.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { CHROMIUM } from "../../scripts/test-tools.ts";

const PASSWORD = "password-123"; // test/support/members.ts
const TTL_SECONDS = 4;

let t: TestServer;
let browser: Browser;
let founder: Member;

beforeAll(async () => {
  t = await startTestServer({ env: { JWT_TTL: String(TTL_SECONDS) } });
  founder = await createMember(t.pool, "FOUNDER", "Olga");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"] });
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function signIn(): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${t.baseUrl}/ops`);
  await page.fill("input[name=email]", `${founder.callsign}@members.test`.toLowerCase());
  await page.fill("input[name=password]", PASSWORD);
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector("#status.live", { timeout: 10_000 });
  return page;
}

const stored = (page: Page) =>
  page.evaluate(() => {
    const session = JSON.parse(sessionStorage.getItem("nexus.ops.session") ?? "null");
    return { jwt: session?.jwtToken ?? null, session };
  });

async function graphql(query: string, variables: Record<string, unknown>, jwt?: string) {
  const res = await fetch(`${t.baseUrl}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(jwt ? { authorization: `Bearer ${jwt}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: Record<string, any>; errors?: { extensions?: { code?: string } }[] };
}

describe("/ops session", () => {
  it("stays signed in and live across several access-token lifetimes, rotating its tokens", { timeout: 60_000 }, async () => {
    const page = await signIn();
    const first = await stored(page);
    expect(first.jwt).toMatch(/^ey/);
    expect(first.session.refreshToken).toEqual(expect.any(String));
    const seen = new Set([first.jwt]);
    const started = Date.now();
    // Three lifetimes of the first token: it has long expired, and the page is still live on newer ones.
    await eventually("three access-token lifetimes on fresh tokens", async () => {
      const now = await stored(page);
      if (now.jwt) seen.add(now.jwt);
      return Date.now() - started > 3 * TTL_SECONDS * 1000 && seen.size >= 3 ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    expect(await page.isHidden("#sign-in")).toBe(true);
    await page.waitForSelector("#status.live", { timeout: 5_000 });
    expect(await page.textContent("#sign-in-error")).toBe("");
    // The first refresh token was rotated away (it worked once; its 10 s reuse window aside, it is spent).
    const latest = await stored(page);
    expect(latest.session.refreshToken).not.toBe(first.session.refreshToken);
    await page.context().close();
  });

  it("signs out when the server ends the session, at the next poll", { timeout: 60_000 }, async () => {
    const page = await signIn();
    const { jwt } = await stored(page);
    const ended = await graphql(`mutation { signOut(input: { scope: "local" }) { revoked } }`, {}, jwt!);
    expect(ended.data?.signOut?.revoked).toBe(1);
    await page.waitForSelector("#sign-in-error >> text=Signed out", { timeout: 3 * TTL_SECONDS * 1000 });
    expect(await page.isVisible("#sign-in")).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.context().close();
  });

  it("Sign out ends the session on the server: its refresh token no longer works", { timeout: 60_000 }, async () => {
    const page = await signIn();
    // The refresh token the page holds when the button is pressed.
    const { session } = await stored(page);
    await page.click("#sign-out");
    await page.waitForSelector("#sign-in", { state: "visible" });
    const refused = await eventually("the refresh token refused", async () => {
      const answer = await graphql(`mutation ($t: String!) { refreshSession(input: { refreshToken: $t }) { jwtToken } }`, { t: session.refreshToken });
      return answer.data?.refreshSession ? undefined : answer;
    }, { timeoutMs: 10_000 });
    expect(refused.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    await page.context().close();
  });
});
