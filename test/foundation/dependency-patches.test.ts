/**
 * scripts/dependency-patches.mjs: the local fixes to installed dependencies are applied by npm install, to the copy
 * the GraphQL stack loads, and keep the released behaviour.
 *
 * graphile-config-make-next: graphile-config's makeNext() assigned `next.callback` on every middleware call, and V8
 * then kept each call's closures (and the request they hold) alive past its young-generation collections, so every
 * GraphQL request was promoted to the old generation (docs/upstream.md). The last test measures exactly that in a
 * child process, released text against installed text: a count of bytes, not a time.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { dependencyPatchesCheck } from "../../cli/doctor.ts";
// @ts-expect-error plain JavaScript module (it runs at npm install, on whatever Node npm has)
import { applyPatches, PATCHES, patchState, patchTarget } from "../../scripts/dependency-patches.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const require = createRequire(import.meta.url);
type Patch = { id: string; package: string; version: string; file: string; from: string; to: string };
const makeNext = (PATCHES as Patch[]).find((p) => p.id === "graphile-config-make-next")!;

describe("dependency patches", () => {
  it.each((PATCHES as Patch[]).map((p) => [p.id, p] as const))("%s is applied by npm install", (_id, patch) => {
    expect(patchState(ROOT, patch).state).toBe("applied");
  });

  it("applies to the reviewed version and text only, once, and says why not otherwise", () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "nexus-patches-"));
    try {
      const { manifest, file } = patchTarget(root, makeNext);
      mkdirSync(path.dirname(file), { recursive: true });
      const install = (version: string, text: string) => {
        writeFileSync(manifest, JSON.stringify({ name: makeNext.package, version }));
        writeFileSync(file, `"use strict";\n${text}\nexports.x = 1;\n`);
      };
      const lineOf = () => (applyPatches(root) as { patch: Patch; ok: boolean; line: string }[]).find((r) => r.patch.id === makeNext.id)!;

      install(makeNext.version, makeNext.from);
      expect(lineOf()).toMatchObject({ ok: true, line: `${makeNext.id}: applied to ${makeNext.package} ${makeNext.version}` });
      expect(readFileSync(file, "utf8")).toBe(`"use strict";\n${makeNext.to}\nexports.x = 1;\n`);
      expect(lineOf()).toMatchObject({ ok: true, line: `${makeNext.id}: applied` });
      expect(readFileSync(file, "utf8").split(makeNext.to)).toHaveLength(2);

      install("9.9.9", makeNext.from);
      expect(lineOf()).toMatchObject({ ok: false, line: expect.stringContaining("NOT applied: graphile-config is 9.9.9, the fix was reviewed for 1.1.1") });
      expect(readFileSync(file, "utf8")).toContain(makeNext.from);

      install(makeNext.version, makeNext.from.replace("let called = false;", "let called = 0;"));
      expect(lineOf()).toMatchObject({ ok: false, line: expect.stringContaining("is not the text reviewed") });

      // npm run doctor says the same.
      expect(dependencyPatchesCheck(root)).toEqual({ ok: false, detail: expect.stringContaining(`${makeNext.id} not applied (graphile-config 1.1.1, changed; reviewed for 1.1.1)`) });
      install(makeNext.version, makeNext.from);
      applyPatches(root);
      expect(dependencyPatchesCheck(root)).toEqual({ ok: true, detail: `${makeNext.id} in place` });

      rmSync(file);
      expect(lineOf()).toMatchObject({ ok: false, line: expect.stringContaining("is not installed") });
      expect(dependencyPatchesCheck(root)).toMatchObject({ ok: false, detail: expect.stringContaining("not installed, missing") });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("patches the graphile-config that grafast, grafserv and postgraphile load", () => {
    const patched = path.dirname(patchTarget(ROOT, makeNext).manifest);
    for (const dependent of ["grafast", "grafserv", "postgraphile"]) {
      const from = createRequire(require.resolve(dependent));
      expect(path.dirname(path.dirname(from.resolve("graphile-config"))), dependent).toBe(patched);
    }
  });

  it("keeps next.callback's behaviour: an own enumerable, writable property; one call; errors and promises passed on", async () => {
    const { Middleware } = require("graphile-config") as typeof import("graphile-config");
    const seen: PropertyDescriptor[] = [];
    const middleware = new Middleware<any>();
    middleware.register("run" as never, ((next: any, event: { n: number }) => {
      seen.push(Object.getOwnPropertyDescriptor(next, "callback")!);
      if (event.n === 2) {
        next.callback(() => undefined);
        return next.callback(() => undefined);
      }
      return next.callback((error: unknown, result: number) => (error ? `error: ${(error as Error).message}` : result + 1));
    }) as never);
    expect(middleware.run("run" as never, { n: 1 } as never, ((e: { n: number }) => e.n * 10) as never)).toBe(11);
    expect(() => middleware.run("run" as never, { n: 2 } as never, (() => 0) as never)).toThrow("next() was already called; don't call it twice!");
    expect(middleware.run("run" as never, { n: 3 } as never, (() => { throw new Error("boom"); }) as never)).toBe("error: boom");
    await expect(middleware.run("run" as never, { n: 4 } as never, (async () => 41) as never)).resolves.toBe(42);
    expect(seen[0]).toMatchObject({ enumerable: true, writable: true, configurable: true });
    expect(typeof seen[0]!.value).toBe("function");
  });

  it("a request's closures no longer outlive young-generation collections", () => {
    const promoted = (variant: "installed" | "released") => {
      const output = execFileSync(process.execPath, ["--trace-gc-nvp", path.join(ROOT, "test/support/middleware-promotion.cjs"), ROOT, variant], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 60_000,
      });
      expect(output).toContain(`answered ${10000 * 32 * 50}`);
      return output;
    };
    const perScavenge = (output: string) => {
      const bytes = [...output.matchAll(/gc=s .*?promoted=(\d+)/g)].map((m) => Number(m[1]));
      expect(bytes.length).toBeGreaterThan(0);
      return bytes.reduce((a, b) => a + b, 0) / bytes.length;
    };
    const released = perScavenge(promoted("released"));
    const installed = perScavenge(promoted("installed"));
    // Released: ≈ 140 KB per scavenge on Node 24, 13 KB on Node 20 (the requests in flight, and those before
    // them). Installed: ≈ 0.5 KB on both.
    expect(released).toBeGreaterThan(10 * installed);
    expect(installed).toBeLessThan(16 * 1024);
  });
});
