/**
 * What failed, in a few lines that `npm test` prints just above its closing line: a CI log is often read from its
 * end, where the runners' own reports of a failure (a stack, then the file it came from) have scrolled out of a
 * short tail.
 */
import path from "node:path";

const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "");
const firstLine = (text: string) => (text.split("\n").find((l) => l.trim()) ?? "").trim().slice(0, 300);

/**
 * vitest: failed tests from its JSON report; unhandled errors, which fail the run without failing a test, from its
 * output (the JSON report does not list them): their kind, first line, first frame and file.
 */
export function vitestDigest(json: any, output: string, root: string): string[] {
  const lines: string[] = [];
  for (const file of json?.testResults ?? []) {
    const name = path.relative(root, file.name ?? "");
    const failedTests = (file.assertionResults ?? []).filter((t: any) => t.status === "failed");
    for (const t of failedTests) lines.push(`# failed: ${name} > ${t.fullName}: ${firstLine((t.failureMessages ?? []).join("\n"))}`);
    if (file.status === "failed" && failedTests.length === 0) lines.push(`# failed: ${name}: ${firstLine(file.message ?? "")}`);
  }
  const text = plain(output);
  const sections = text.split(/\n⎯+ ?(Uncaught Exception|Unhandled Rejection|Unhandled Error|[A-Za-z ]*Error) ?⎯+\n/);
  for (let i = 1; i + 1 < sections.length; i += 2) {
    const body = sections[i + 1]!;
    const frame = /❯ (.+)/.exec(body)?.[1]?.trim();
    const file = /This error originated in "([^"]+)"/.exec(body)?.[1];
    const test = /The latest test that might've caused the error is "([^"]+)"/.exec(body)?.[1];
    const where = [file, test && `after or in "${test}"`, frame && `at ${frame}`].filter(Boolean).join("; ");
    lines.push(`# ${sections[i]}: ${firstLine(body)}${where ? ` (${where})` : ""}`);
  }
  return lines;
}


/** pg_prove: its summary's line for each file that failed, e.g. `db/tests/x.sql (Wstat: 0 Tests: 9 Failed: 1)`. */
export function pgTapDigest(output: string): string[] {
  return [...plain(output).matchAll(/^(\S+\.sql)\s+\(Wstat: [^)]*\)$/gm)].map((m) => `# failed: ${m[0].trim()}`);
}
