/**
 * Every GraphQL example in the documentation runs: each ```graphql block of every markdown file (README.md and
 * docs/, wherever a block sits, so the docs can be restructured freely) is parsed, split into its operations,
 * and each operation is sent to the real server as a FOUNDER. An example that no longer matches the schema
 * (a renamed field, a condition on a column that is not filterable) fails validation and fails this test; so does
 * one that makes the server fault. Placeholders written `"…"` become a well-formed id that matches nothing, so
 * such an example answers with the API's own refusal (NOT_FOUND, BAD_REQUEST, …), which counts as running.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import webpush from "web-push";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kind, parse, print, type DefinitionNode, type FragmentDefinitionNode } from "postgraphile/graphql";
import { ROOT } from "../../core/database/migrate.ts";
import { LIVEKIT_ENV } from "../support/livekit.ts";
import { createMember, type Member } from "../support/members.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

interface Example {
  where: string;
  /** The operation type and its root fields, e.g. `mutation issueVoiceToken`. */
  label: string;
  operation: string;
}

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) return [];
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return ["docs"].includes(path.relative(ROOT, full).split(path.sep)[0]!) ? markdownFiles(full) : [];
    return entry.name.endsWith(".md") ? [full] : [];
  });
}

function examples(): Example[] {
  const found: Example[] = [];
  for (const file of markdownFiles(ROOT)) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/^```graphql[^\n]*\n([\s\S]*?)^```/gm)) {
      const line = text.slice(0, match.index).split("\n").length;
      const document = parse(match[1]!.replaceAll('"…"', `"${PLACEHOLDER_ID}"`));
      const fragments = document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION);
      for (const definition of document.definitions as readonly DefinitionNode[]) {
        if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
        const operation = [print(definition), ...fragments.map((f) => print(f))].join("\n");
        const fields = definition.selectionSet.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : "…")).join(", ");
        found.push({ where: `${path.relative(ROOT, file)}:${line}`, label: `${definition.operation} ${fields}`, operation });
      }
    }
  }
  return found;
}

const PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000";
const vapid = webpush.generateVAPIDKeys();
let t: TestServer;
let founder: Member;

beforeAll(async () => {
  t = await startTestServer({ env: { ...LIVEKIT_ENV, NEXT_PUBLIC_VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey } });
  founder = await createMember(t.pool, "FOUNDER");
  await t.pool.query(`insert into public.voice_nets (name, room_name) values ('Operations', 'ops')`);
}, 60_000);
afterAll(async () => t?.close());

describe("GraphQL examples in the documentation", () => {
  const all = examples();

  it("there are examples to run (README.md and docs/*.md)", () => {
    expect(all.length).toBeGreaterThan(10);
  });

  it.each(all.map((e) => [e.where, e.label, e] as const))("%s %s", async (_where, _label, example) => {
    const answer = await t.graphql(example.operation, {}, founder.token);
    expect(answer.status, example.operation).toBeLessThan(500);
    // Every error is the API's own answer (it has a code), never a validation failure or INTERNAL.
    for (const error of answer.body.errors ?? []) {
      expect(error.extensions?.code, `${example.where}\n${example.operation}\n${JSON.stringify(error)}`).toBeDefined();
      expect(error.extensions.code, `${example.where}\n${example.operation}`).not.toBe("INTERNAL");
    }
    if (!answer.body.errors) expect(answer.body.data, example.operation).toBeTruthy();
  });
});
