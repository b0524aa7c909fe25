/**
 * The documentation stands alone: every link in README.md and docs/*.md points inside the repository (or is a
 * plain web address), at a file that exists and, with a #fragment, at a heading that file has. A clone has no
 * ../shared, so a link there is a broken promise to the reader.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../core/database/migrate.ts";

const files = ["README.md", ...readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

/** GitHub's heading anchors: lower case, punctuation but `-` and `_` dropped, spaces as dashes. */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  let fence = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) fence = !fence;
    const heading = !fence && /^#{1,6} (.+)$/.exec(line);
    if (heading) found.add(heading[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-"));
  }
  return found;
}

function links(markdown: string): string[] {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

describe("documentation links", () => {
  it("every link resolves inside the repository", () => {
    const broken: string[] = [];
    for (const file of files) {
      const text = readFileSync(path.join(ROOT, file), "utf8");
      for (const link of links(text)) {
        if (/^https?:\/\//.test(link)) continue;
        const [target, fragment] = link.split("#") as [string, string | undefined];
        const resolved = target ? path.resolve(path.dirname(path.join(ROOT, file)), target) : path.join(ROOT, file);
        if (!resolved.startsWith(ROOT + path.sep) || !existsSync(resolved)) {
          broken.push(`${file}: ${link} (no such file in the repository)`);
          continue;
        }
        if (fragment && resolved.endsWith(".md") && !anchors(readFileSync(resolved, "utf8")).has(fragment)) {
          broken.push(`${file}: ${link} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it("README stays a map: at most ~200 lines", () => {
    expect(readFileSync(path.join(ROOT, "README.md"), "utf8").split("\n").length).toBeLessThanOrEqual(210);
  });
});
