import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.ts";
import { z } from "zod";
import { ApiError } from "../../core/errors.ts";
import { parseBody } from "../../server/http.ts";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: { CORS_ORIGINS: "https://nexus.example" } });
});
afterAll(async () => t?.close());

describe("CORS", () => {
  for (const path of ["/graphql", "/functions/v1/livekit-token"]) {
    it(`answers a preflight on ${path} for a listed origin, and for the Vite dev origin outside production`, async () => {
      for (const origin of ["https://nexus.example", "http://localhost:5173"]) {
        const res = await fetch(`${t.baseUrl}${path}`, {
          method: "OPTIONS",
          headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
        });
        expect(res.status).toBe(204);
        expect(res.headers.get("access-control-allow-origin")).toBe(origin);
        expect(res.headers.get("access-control-allow-headers")).toMatch(/authorization/);
      }
    });

    it(`gives no CORS headers on ${path} to another origin`, async () => {
      const res = await fetch(`${t.baseUrl}${path}`, {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
      });
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    });
  }

  // A preflight names only the methods its edge answers: each one advertised gets an answer other than 405, and
  // the methods no route answers (PATCH, DELETE; GET on /graphql) are not advertised.
  const edges: [string, string, Record<string, RequestInit>][] = [
    ["/functions/v1/livekit-token", "POST, OPTIONS", { POST: { body: "{}" } }],
    ["/graphql", "POST, OPTIONS", { POST: { body: JSON.stringify({ query: "{ __typename }" }) } }],
    ["/auth/v1/user", "GET, POST, PUT, OPTIONS", { GET: {}, PUT: { body: "{}" } }],
    ["/push/vapid-public-key", "GET, OPTIONS", { GET: {} }],
  ];
  for (const [path, methods, tries] of edges) {
    it(`tells a preflight on ${path} only the methods it answers (${methods})`, async () => {
      const res = await fetch(`${t.baseUrl}${path}`, {
        method: "OPTIONS",
        headers: { origin: "https://nexus.example", "access-control-request-method": "POST" },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-methods")).toBe(methods);
      for (const [method, init] of Object.entries(tries)) {
        const answer = await fetch(`${t.baseUrl}${path}`, {
          method,
          headers: { origin: "https://nexus.example", "content-type": "application/json" },
          ...init,
        });
        expect(answer.status, `${method} ${path}`).not.toBe(405);
      }
    });
  }

  it("adds the allow-origin header to the actual request too", async () => {
    const res = await fetch(`${t.baseUrl}/graphql`, {
      method: "POST",
      headers: { origin: "https://nexus.example", "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(res.headers.get("access-control-allow-origin")).toBe("https://nexus.example");
  });
});

describe("every response", () => {
  it("carries security headers and a request id, reusing a sane incoming one", async () => {
    const res = await fetch(`${t.baseUrl}/healthz`, { headers: { "x-request-id": "edge-1234" } });
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(res.headers.get("x-powered-by")).toBeNull();
    expect(res.headers.get("x-request-id")).toBe("edge-1234");
    const other = await fetch(`${t.baseUrl}/healthz`, { headers: { "x-request-id": "bad id with spaces" } });
    expect(other.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("the REST edge", () => {
  it("answers malformed JSON, oversized bodies and unknown routes with JSON 4xx", async () => {
    const headers = { "content-type": "application/json" };
    const bad = await fetch(`${t.baseUrl}/functions/v1/anything`, { method: "POST", headers, body: "{not json" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: "BAD_REQUEST", message: "body is not valid JSON" });
    const big = await fetch(`${t.baseUrl}/functions/v1/anything`, { method: "POST", headers, body: JSON.stringify({ x: "a".repeat(70_000) }) });
    expect(big.status).toBe(400);
    expect(await big.json()).toEqual({ error: "BAD_REQUEST", message: "body larger than 64 KiB" });
    const unknown = await fetch(`${t.baseUrl}/functions/v1/no-such-function`, { method: "POST", headers, body: "{}" });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error).toBe("NOT_FOUND");
  });
});

describe("per-request objects (young-generation pressure)", () => {
  // A getter made per request (an object literal's, or defineProperty with a fresh closure) gives each request's
  // object a hidden class of its own that holds that request's closure; V8's scavenges keep those alive, so every
  // request's objects were promoted (server/http.ts, TrackedRequest). The getters must be shared.
  it("tracks each request with a shared log getter, on trackRequest's result and on Express's req", async () => {
    const { default: http } = await import("node:http");
    const { requestLogger, trackRequest } = await import("../../server/http.ts");
    const { createLogger } = await import("../../core/log.ts");
    const log = createLogger("silent");
    const middleware = requestLogger(log);
    const tracked: ReturnType<typeof trackRequest>[] = [];
    const requests: import("express").Request[] = [];
    const server = http.createServer((req, res) => {
      if (req.url === "/express") {
        middleware(req as import("express").Request, res as import("express").Response, () => {
          requests.push(req as import("express").Request);
          res.end();
        });
      } else {
        tracked.push(trackRequest(log, req, res));
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as import("node:net").AddressInfo;
      for (const path of ["/edge", "/edge", "/express", "/express"]) await (await fetch(`http://127.0.0.1:${port}${path}`)).text();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(tracked).toHaveLength(2);
    for (const t of tracked) expect(Object.getOwnPropertyDescriptor(t, "log")).toBeUndefined();
    expect(tracked[0]!.id).not.toBe(tracked[1]!.id);
    expect(tracked[0]!.log.bindings().reqId).toBe(tracked[0]!.id);
    expect(requests).toHaveLength(2);
    const [a, b] = requests.map((req) => Object.getOwnPropertyDescriptor(req, "log")?.get);
    expect(typeof a).toBe("function");
    expect(a).toBe(b);
    expect(requests[1]!.log?.bindings().reqId).toBe(requests[1]!.id);
  });
});

describe("request log lines", () => {
  // A 404 logs its path at info, and node takes a path as long as its 16 KB header limit: the line carries the
  // path's start and its length, never 15 KB of the client's text.
  it("cut a long path to its first LOGGED_TEXT_MAX characters and say how much was left out, on both edges; no user agent or query", async () => {
    const { Writable } = await import("node:stream");
    const { default: pino } = await import("pino");
    const { LOGGED_TEXT_MAX, requestLogger, trackRequest } = await import("../../server/http.ts");
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (chunk, _encoding, done) => void (lines.push(JSON.parse(String(chunk))), done()) });
    const log = pino({ level: "info" }, sink);
    const { default: http } = await import("node:http");
    const middleware = requestLogger(log);
    const server = http.createServer((req, res) => {
      res.statusCode = 404;
      // The edges answered before Express call trackRequest; Express's routes go through requestLogger.
      if (req.url!.startsWith("/express")) middleware(req as import("express").Request, res as import("express").Response, () => res.end());
      else (trackRequest(log, req, res), res.end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const long = `/nope/${"A".repeat(15_000)}`;
    const express = `/express/${"A".repeat(15_000)}`;
    try {
      const { port } = server.address() as import("node:net").AddressInfo;
      for (const path of [long, `${long}?q=${"B".repeat(500)}`, express, "/short"]) await (await fetch(`http://127.0.0.1:${port}${path}`, { headers: { "user-agent": "U".repeat(500) } })).text();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const requests = lines.filter((l) => l.msg === "request");
    const cut = `${long.slice(0, LOGGED_TEXT_MAX)}…[+${long.length - LOGGED_TEXT_MAX} characters]`;
    expect(requests.map((l) => l.path)).toEqual([
      cut,
      cut,
      `${express.slice(0, LOGGED_TEXT_MAX)}…[+${express.length - LOGGED_TEXT_MAX} characters]`,
      "/short",
    ]);
    expect(requests).toHaveLength(4);
    for (const line of requests) expect(JSON.stringify(line).length).toBeLessThan(LOGGED_TEXT_MAX + 200);
  });
});

describe("a request body's refusal, in plain words", () => {
  const refusal = (schema: z.ZodType, body: unknown) => {
    try {
      parseBody(schema, body);
      return "accepted";
    } catch (error) {
      return `${(error as ApiError).code}: ${(error as Error).message}`;
    }
  };

  it("says what a field must be, with the bound's own sense and unit", () => {
    expect(refusal(z.object({ n: z.number().positive() }), { n: 0 })).toBe("BAD_REQUEST: n must be more than 0");
    expect(refusal(z.object({ n: z.number().lt(5) }), { n: 9 })).toBe("BAD_REQUEST: n must be less than 5");
    expect(refusal(z.object({ a: z.array(z.string()).min(1) }), { a: [] })).toBe("BAD_REQUEST: a must not be empty");
    expect(refusal(z.object({ a: z.array(z.string()).min(2) }), { a: ["x"] })).toBe("BAD_REQUEST: a must be at least 2 items");
    expect(refusal(z.object({ s: z.string().max(1) }), { s: "xy" })).toBe("BAD_REQUEST: s must be at most 1 character");
    expect(refusal(z.object({ s: z.string().regex(/^x$/) }), { s: "y" })).toBe("BAD_REQUEST: s is not in the expected form");
    expect(refusal(z.object({ s: z.string() }), {})).toBe("BAD_REQUEST: s is required (a string)");
    expect(refusal(z.object({ s: z.string() }), { s: "ok" })).toBe("accepted");
  });
});
