/**
 * What one anonymous GraphQL document can cost the server before it runs: parsing and validating happen on the
 * event loop, once per distinct document (a new operation name is a new document, so an attacker never hits the
 * cache). For each shape, up to BENCH_REQUESTS requests one after another, each with a fresh operation name, against a
 * production server (`main.ts --server`, its own process); the server's CPU per request (from /proc) against the
 * same for `{ __typename }` in the same run.
 *
 * Shapes: the review's 95 KB document (one small selection 4200 times, review 5 F2), and the heaviest documents
 * the limits let through that we know of (MAX_TOKENS, MAX_OVERLAP_PAIRS in server/graphql/limits.ts): a tree of
 * Query's own `query` field, fields repeated under one name just under the pairs limit, leaves repeated up to the
 * token limit, the standard introspection query (which runs).
 *
 * `npm run bench -- graphql-validation`; BENCH_REQUESTS (default 200, at most 3 s) per shape, BENCH_ROUNDS (default 3);
 * BENCH_DEBUG=1 prints the first error of each answer that has one.
 */
import type { ChildProcess } from "node:child_process";
import { Lexer, Source, TokenKind } from "postgraphile/graphql";
import { freePort } from "../core/net.ts";
import { STANDARD_INTROSPECTION } from "../server/graphql/limits.ts";
import { startCluster } from "../test/support/cluster.ts";
import { benchDatabase, cpuSeconds, loadAverage, median, startChild, stopChildren, waitFor } from "./support/setup.ts";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));

const repeat = (n: number, text: string) => Array.from({ length: n }, () => text).join(" ");
const tree = (wide: number, deep: number): string => (deep === 0 ? "__typename" : repeat(wide, `query { ${tree(wide, deep - 1)} }`));
function tokens(text: string): number {
  const lexer = new Lexer(new Source(text));
  let n = 0;
  while (lexer.advance().kind !== TokenKind.EOF) n++;
  return n;
}

/** Each shape as a selection set (or a whole document) that a fresh operation name is put in front of. */
const SHAPES: { name: string; body: string; fragments?: string }[] = [
  { name: "baseline: { __typename }", body: "{ __typename }" },
  { name: "review 5 F2: skills{nodes{id name}} x 4200 (95 KB)", body: `{ ${repeat(4200, "skills{nodes{id name}}")} }` },
  { name: "tree of query, 2 wide, 8 deep", body: `{ ${tree(2, 8)} }` },
  { name: "tree of query, 2 wide, 6 deep", body: `{ ${tree(2, 6)} }` },
  { name: "tree of query, 3 wide, 4 deep", body: `{ ${tree(3, 4)} }` },
  { name: "tree of query, 16 wide, 2 deep", body: `{ ${tree(16, 2)} }` },
  { name: "skills(first: 1){nodes{id}} x 40", body: `{ ${repeat(40, "skills(first: 1){nodes{id}}")} }` },
  { name: "skills(first: 1){nodes{id}} x 300", body: `{ ${repeat(300, "skills(first: 1){nodes{id}}")} }` },
  { name: "__typename x 350", body: `{ ${repeat(350, "__typename")} }` },
  { name: "__typename x 1990", body: `{ ${repeat(1990, "__typename")} }` },
  { name: "skills(first: 1) { nodes { ...F x 400 } }", body: `{ skills(first: 1) { nodes { ${repeat(400, "...F")} } } }`, fragments: "fragment F on Skill { id name }" },
  { name: "standard introspection (runs)", body: STANDARD_INTROSPECTION.replace(/^\s*query\s+\w+\s*/, "") },
];

async function main() {
  const cluster = await startCluster();
  const children: ChildProcess[] = [];
  try {
    const url = await benchDatabase(cluster);
    const port = await freePort();
    const server = startChild("main.ts", ["--server"], {
      NODE_ENV: "production",
      DATABASE_URL: url,
      JWT_SECRET: "bench-secret-bench-secret-bench-secret-0123",
      LOG_LEVEL: "warn",
      PORT: String(port),
    });
    children.push(server);
    await waitFor(`http://127.0.0.1:${port}/healthz`, {}, (res) => res.ok, server, "the server");
    const endpoint = `http://127.0.0.1:${port}/graphql`;
    let serial = 0;
    const ask = async (shape: (typeof SHAPES)[number]) => {
      const query = `query Q${serial++} ${shape.body} ${shape.fragments ?? ""}`;
      const res = await fetch(endpoint, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
      const body = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
      if (process.env.BENCH_DEBUG && body.errors) console.log(shape.name, JSON.stringify(body.errors[0]).slice(0, 300));
      return `${res.status} ${body.errors?.[0]?.extensions?.code ?? "ran"}`;
    };
    const load = loadAverage();
    const perRequest = new Map<string, number[]>();
    const outcome = new Map<string, string>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const shape of round % 2 === 0 ? SHAPES : [...SHAPES].reverse()) {
        await ask(shape); // warm
        const before = cpuSeconds(server.pid!);
        const started = Date.now();
        // At most BENCH_REQUESTS, and no more than 3 s a shape once 5 are done (the review's took a second each).
        let i = 0;
        for (; i < REQUESTS && (i < 5 || Date.now() - started < 3000); i++) outcome.set(shape.name, await ask(shape));
        const ms = ((cpuSeconds(server.pid!) - before) * 1000) / i;
        perRequest.set(shape.name, [...(perRequest.get(shape.name) ?? []), ms]);
      }
    }
    const base = median(perRequest.get(SHAPES[0]!.name)!);
    console.log(`load ${load} → ${loadAverage()}; ${ROUNDS} rounds of ${REQUESTS} requests per shape, server CPU per request (median of rounds)`);
    console.log("| document | tokens | bytes | answer | server CPU ms per request | × `{ __typename }` |");
    console.log("| --- | ---: | ---: | --- | ---: | ---: |");
    for (const shape of SHAPES) {
      const text = `query Q0 ${shape.body} ${shape.fragments ?? ""}`;
      const ms = median(perRequest.get(shape.name)!);
      console.log(`| ${shape.name} | ${tokens(text)} | ${text.length} | ${outcome.get(shape.name)} | ${ms.toFixed(2)} | ${(ms / base).toFixed(1)} |`);
    }
  } finally {
    await stopChildren(children);
    cluster.stop();
  }
}

await main();
