// Local fixes to installed dependencies, applied by `npm install` (scripts/postinstall.mjs) and checked by
// test/foundation/dependency-patches.test.ts. Each one is an exact text replacement in one file of one exact
// version, written and reviewed here, and reported upstream (docs/upstream.md). A version or a text that is not
// the one reviewed is left alone and reported: the fix is then re-read against the new release, or dropped if
// upstream has it. Plain JavaScript: it runs on whatever Node npm has.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** graphile-config 1.1.1's makeNext(), as released. */
const MAKE_NEXT = `function makeNext(fn) {
    let called = false;
    const next = fn;
    next.callback = (callback) => {
        if (called) {
            throw new Error(\`next() was already called; don't call it twice!\`);
        }
        called = true;
        let result;
        try {
            result = fn();
        }
        catch (error) {
            return callback(error, undefined);
        }
        if ((0, utils_ts_1.isPromiseLike)(result)) {
            return result.then((result) => callback(null, result), callback);
        }
        else {
            return callback(null, result);
        }
    };
    return next;
}`;

export const PATCHES = [
  {
    id: "graphile-config-make-next",
    package: "graphile-config",
    version: "1.1.1",
    file: "dist/middleware.js",
    why:
      "makeNext() assigned next.callback on every middleware call; V8 keeps every such closure (and the request it holds) past young-generation GCs, " +
      "so each GraphQL request's objects were promoted and scavenges paused 10-25 ms under load. Defined instead of assigned, with the same attributes.",
    from: MAKE_NEXT,
    to: MAKE_NEXT.replace(
      "    next.callback = (callback) => {",
      `    // nomadnexus patch graphile-config-make-next (scripts/dependency-patches.mjs, docs/upstream.md): defined, not
    // assigned. An assigned next.callback kept each call's closures alive past V8's young-generation collections.
    Object.defineProperty(next, "callback", { configurable: true, enumerable: true, writable: true, value: (callback) => {`,
    ).replace("    };\n    return next;\n}", "    } });\n    return next;\n}"),
  },
];

// A replacement that found nothing to replace would make `to` the released text, and every released file would then
// count as patched: refuse to load instead.
for (const patch of PATCHES) {
  if (patch.to === patch.from || !patch.to.includes("nomadnexus patch " + patch.id)) throw new Error(`dependency patch ${patch.id}: its replacement text is not built`);
}

/** Where a patch's file is, in the package installed at the top of node_modules (the copy grafast and grafserv load). */
export function patchTarget(root, patch) {
  const dir = path.join(root, "node_modules", patch.package);
  return { manifest: path.join(dir, "package.json"), file: path.join(dir, patch.file) };
}

/**
 * What a patch's file holds now: "applied", "unpatched" (the reviewed text, not yet replaced), "other-version",
 * "changed" (the reviewed version with neither text: edited by someone else) or "missing".
 */
export function patchState(root, patch) {
  const { manifest, file } = patchTarget(root, patch);
  let version;
  let text;
  try {
    version = JSON.parse(readFileSync(manifest, "utf8")).version;
    text = readFileSync(file, "utf8");
  } catch {
    return { state: "missing" };
  }
  if (text.includes(patch.to)) return { state: "applied", version };
  if (version !== patch.version) return { state: "other-version", version };
  return text.split(patch.from).length === 2 ? { state: "unpatched", version, text } : { state: "changed", version };
}

/** Applies every patch that finds its reviewed text; returns one line per patch for the install log. */
export function applyPatches(root) {
  return PATCHES.map((patch) => {
    const found = patchState(root, patch);
    switch (found.state) {
      case "applied":
        return { patch, ok: true, line: `${patch.id}: applied` };
      case "unpatched":
        try {
          writeFileSync(patchTarget(root, patch).file, found.text.replace(patch.from, patch.to));
        } catch (error) {
          return { patch, ok: false, line: `${patch.id} NOT applied: cannot write ${patch.package}/${patch.file} (${error instanceof Error ? error.message : error})` };
        }
        return { patch, ok: true, line: `${patch.id}: applied to ${patch.package} ${found.version}` };
      case "other-version":
        return { patch, ok: false, line: `${patch.id} NOT applied: ${patch.package} is ${found.version}, the fix was reviewed for ${patch.version}; re-check it against this release (docs/upstream.md)` };
      case "changed":
        return { patch, ok: false, line: `${patch.id} NOT applied: ${patch.package} ${found.version}'s ${patch.file} is not the text reviewed (edited?); reinstall it (docs/upstream.md)` };
      default:
        return { patch, ok: false, line: `${patch.id} NOT applied: ${patch.package} is not installed` };
    }
  });
}
