/**
 * server/http.ts applies helmet's headers from a recording instead of running helmet per request: every response
 * must still carry exactly what helmet itself would set, API and probes alike.
 */
import helmet from "helmet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELMET_OPTIONS } from "../../server/http.ts";
import { createMember } from "../support/members.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.close());

/** What helmet, run the ordinary way, does to a response: the headers it sets and the ones it removes. */
function helmetHeaders(): { set: Map<string, string>; removed: string[] } {
  const set = new Map<string, string>();
  const removed: string[] = [];
  const res = {
    setHeader: (name: string, value: string) => set.set(name.toLowerCase(), value),
    removeHeader: (name: string) => removed.push(name.toLowerCase()),
  };
  helmet(HELMET_OPTIONS)({} as never, res as never, () => {});
  return { set, removed };
}

describe("security headers", () => {
  it("are helmet's own, on probes, GraphQL and the REST routes", async () => {
    const { set, removed } = helmetHeaders();
    expect(set.size).toBeGreaterThan(8);
    const member = await createMember(t.pool, "SCOUT");
    const responses = [
      await fetch(`${t.baseUrl}/healthz`),
      await fetch(`${t.baseUrl}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${member.token}` },
        body: JSON.stringify({ query: "{ __typename }" }),
      }),
      await fetch(`${t.baseUrl}/functions/v1/livekit-token`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${member.token}` },
        body: JSON.stringify({ roomName: "no-such-room" }),
      }),
    ];
    for (const res of responses) {
      for (const [name, value] of set) expect(res.headers.get(name), name).toBe(value);
      for (const name of removed) expect(res.headers.get(name), name).toBeNull();
    }
  });
});
