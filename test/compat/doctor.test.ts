import { afterAll, beforeAll, describe, expect, it } from "vitest";
import webpush from "web-push";
import { modules } from "../../server/modules.ts";
import { runNode } from "../support/child.ts";
import { allowAuthenticatorLogin, authenticatorUrl, createTestDatabase, type TestDatabase } from "../support/db.ts";
import { freePort } from "../../core/net.ts";
import { startNexusProcess, type NexusProcess } from "../support/nexus-process.ts";
import { TEST_JWT_SECRET } from "../support/server.ts";

/**
 * `npm run doctor` (the runbook's Phase 9 checklist) against `npm start` with DATABASE_URL, in production mode:
 * every line passes with the environment the server runs with, and a removed or mismatched secret fails with a
 * line that names it.
 */
const vapid = webpush.generateVAPIDKeys();
let db: TestDatabase;
let nexus: NexusProcess;
let env: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase();
  env = {
    NODE_ENV: "production",
    DATABASE_URL: db.url,
    JWT_SECRET: TEST_JWT_SECRET,
    LIVEKIT_URL: "wss://livekit.nomadnexus.test",
    LIVEKIT_API_KEY: "APIdoctor",
    LIVEKIT_API_SECRET: "doctor-livekit-secret-doctor-livekit-secret",
    NEXT_PUBLIC_VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: "mailto:admin@nomadnexus.test",
    CORS_ORIGINS: "https://nomadnexus.test,https://www.nomadnexus.test",
  };
  nexus = await startNexusProcess(env);
}, 90_000);
afterAll(async () => {
  await nexus?.stop();
  await db?.drop();
});

function doctor(overrides: Record<string, string | undefined>): Promise<{ code: number | null; out: string }> {
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...env, NEXUS_URL: nexus.baseUrl };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  return runNode("cli/doctor.ts", [], { env: childEnv }).then(({ code, output }) => ({ code, out: output }));
}

/**
 * Without the academy capability (issue #6) in this build, the doctor rightly fails the runbook's two academy
 * routes and the academy's tables; every other line must still pass.
 */
const ACADEMY_BUILT = modules.some((m) => m.name === "academy");
const ACADEMY_LINE = /FAIL {2}(route academy-(request|accept)|table (skills|mentor_certifications|academy_requests|sim_pods)) /;
const failLines = (out: string) =>
  out.split("\n").filter((l) => l.startsWith("  FAIL") && (ACADEMY_BUILT || !ACADEMY_LINE.test(l)));

describe("npm run doctor", () => {
  it("passes every check against a running server with the environment it runs with", async () => {
    const { code, out } = await doctor({});
    expect(failLines(out)).toEqual([]);
    expect(code).toBe(ACADEMY_BUILT ? 0 : 1);
    for (const line of [
      /PASS {2}table voice_nets +exists, row level security on/,
      /PASS {2}table notification_queue +exists/,
      /PASS {2}migration voice_nets_rbac +applied/,
      /PASS {2}migration notification_queue +applied/,
      /PASS {2}migrations +all \d+ in db\/migrations applied/,
      /PASS {2}functions 31_voice_access.sql +\d+ present/,
      /PASS {2}VAPID pair +the public key is the one VAPID_PRIVATE_KEY derives/,
      /PASS {2}VAPID key on the server +GET \/push\/vapid-public-key serves this NEXT_PUBLIC_VAPID_PUBLIC_KEY/,
      /PASS {2}LiveKit key and secret +a token signed with the key and secret verifies/,
      /PASS {2}webhook \/functions\/v1\/livekit-webhook +reachable; an unsigned call is rejected with 401/,
      /PASS {2}webhook signature/,
      /PASS {2}route net-bridge +deployed/,
      /PASS {2}CORS https:\/\/www.nomadnexus.test/,
      /PASS {2}worker +1 worker process\(es\) alive/,
      /PASS {2}GET \/metrics/,
    ]) {
      expect(out).toMatch(line);
    }
    if (ACADEMY_BUILT) expect(out).toMatch(/doctor: (\d+) checks, \1 passed, 0 failed/);
  }, 60_000);

  it("fails with a line naming a removed secret", async () => {
    const noPrivateKey = await doctor({ VAPID_PRIVATE_KEY: undefined });
    expect(noPrivateKey.code).toBe(1);
    expect(failLines(noPrivateKey.out)).toEqual(
      expect.arrayContaining([expect.stringMatching(/FAIL {2}VAPID_PRIVATE_KEY +missing/), expect.stringMatching(/FAIL {2}VAPID pair +needs/)]),
    );

    const noLiveKitSecret = await doctor({ LIVEKIT_API_SECRET: undefined });
    expect(noLiveKitSecret.code).toBe(1);
    expect(failLines(noLiveKitSecret.out)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/FAIL {2}LIVEKIT_API_SECRET +missing/),
        expect.stringMatching(/FAIL {2}LiveKit key and secret +needs LIVEKIT_API_KEY and LIVEKIT_API_SECRET/),
      ]),
    );
  }, 60_000);

  it("fails when its secrets differ from the server's, or are malformed", async () => {
    const otherJwt = await doctor({ JWT_SECRET: "another-secret-another-secret-another-0000" });
    expect(failLines(otherJwt.out)).toEqual([expect.stringMatching(/FAIL {2}JWT_SECRET on the server +the server rejects JWTs signed with this JWT_SECRET/)]);
    expect(otherJwt.code).toBe(1);

    const otherLiveKit = await doctor({ LIVEKIT_API_SECRET: "a-different-livekit-secret-a-different-0000" });
    expect(failLines(otherLiveKit.out)).toEqual([expect.stringMatching(/FAIL {2}webhook signature +the server rejects webhooks signed/)]);

    const otherPair = webpush.generateVAPIDKeys();
    const mismatched = await doctor({ NEXT_PUBLIC_VAPID_PUBLIC_KEY: otherPair.publicKey });
    expect(failLines(mismatched.out)).toEqual([
      expect.stringMatching(/FAIL {2}VAPID pair +NEXT_PUBLIC_VAPID_PUBLIC_KEY is not VAPID_PRIVATE_KEY's public key/),
      expect.stringMatching(/FAIL {2}VAPID key on the server +the server serves .*, not this NEXT_PUBLIC_VAPID_PUBLIC_KEY/),
    ]);

    // A whole other pair (a worker's environment after a rotation the server did not get): sound in itself, but
    // not the key browsers subscribe with.
    const rotated = await doctor({ NEXT_PUBLIC_VAPID_PUBLIC_KEY: otherPair.publicKey, VAPID_PRIVATE_KEY: otherPair.privateKey });
    expect(failLines(rotated.out)).toEqual([
      expect.stringMatching(new RegExp(`FAIL {2}VAPID key on the server +the server serves ${vapid.publicKey.slice(0, 12)}…, not this NEXT_PUBLIC_VAPID_PUBLIC_KEY \\(${otherPair.publicKey.slice(0, 12)}…\\)`)),
    ]);

    const malformed = await doctor({ CORS_ORIGINS: "https://nomadnexus.test/", LIVEKIT_WEBHOOK_SECRET: "not-the-api-secret-not-the-api-secret-00" });
    expect(failLines(malformed.out)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/FAIL {2}CORS_ORIGINS +not origins .*https:\/\/nomadnexus.test\//),
        expect.stringMatching(/FAIL {2}LIVEKIT_WEBHOOK_SECRET +differs from LIVEKIT_API_SECRET/),
      ]),
    );
  }, 90_000);

  it("reports a value the server's configuration refuses once, in the server's words", async () => {
    const badTtl = await doctor({ LIVEKIT_TOKEN_TTL: "soon" });
    expect(badTtl.code).toBe(1);
    expect(failLines(badTtl.out)).toEqual([expect.stringMatching(/FAIL {2}configuration +config: LIVEKIT_TOKEN_TTL must be a positive whole number, got "soon"/)]);
  }, 60_000);

  it("run with the server's own login (nexus_authenticator), says which checks that login may not read, not \"never migrated\"; its migrations line passes", async () => {
    const login = allowAuthenticatorLogin(db.url);
    expect(login.stderr).toBe("");
    const { code, out } = await doctor({ DATABASE_URL: authenticatorUrl(db.url) });
    expect(code).toBe(1);
    expect(out).toMatch(/PASS {2}connect +.* as nexus_authenticator\)/);
    const fails = failLines(out);
    expect(fails).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/FAIL {2}job queue +nexus_authenticator may not read graphile_worker.jobs: run the doctor with the database owner's URL as DATABASE_URL/),
        expect.stringMatching(/FAIL {2}worker +nexus_authenticator may not read nexus_private.worker_heartbeats: /),
      ]),
    );
    expect(out).not.toMatch(/never migrated|schema missing|missing: run the migrations/);
    // The migrations it may check, through nexus_private.applied_migrations() (what the start-up check uses).
    expect(out).toMatch(/PASS {2}migrations +all \d+ in db\/migrations applied, none unknown/);
    expect(fails.every((l) => / may not read /.test(l)), fails.join("\n")).toBe(true);
  }, 60_000);

  it("fails with named lines, not a crash, when the server or the database is unreachable", async () => {
    const closedPort = await freePort();
    const noServer = await doctor({ NEXUS_URL: `http://127.0.0.1:${closedPort}` });
    expect(noServer.code).toBe(1);
    expect(noServer.out).toMatch(/FAIL {2}GET \/healthz +http:\/\/127.0.0.1:\d+ does not answer/);
    const noDatabase = await doctor({ DATABASE_URL: `postgres://postgres@127.0.0.1:${closedPort}/nowhere` });
    expect(noDatabase.code).toBe(1);
    expect(noDatabase.out).toMatch(/FAIL {2}connect +cannot connect to postgres:\/\/postgres@127.0.0.1:\d+\/nowhere/);
  }, 60_000);
});
