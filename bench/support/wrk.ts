/**
 * Load from outside: wrk (a C load generator, `apt-get install wrk`) in its own process, so the generator takes
 * little of the cores the servers and Postgres share. One wrk thread, keep-alive connections, requests sent
 * round-robin from a list (each with its own Authorization header and body), for a fixed duration.
 *
 * wrk counts a non-2xx/3xx answer as an error; callers check a sample of answers' bodies themselves.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface WrkRequest {
  authorization?: string;
  contentType?: string;
  body: string;
}

export interface WrkResult {
  requests: number;
  /** Connection, read, write and timeout errors, and answers that were not 2xx/3xx. */
  errors: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p90: number;
  p99: number;
}

// Each request line: authorization TAB content-type TAB body (none of them holds a tab or a newline).
const SCRIPT = String.raw`
local requests = {}
local next = 1
function init(args)
  local file = assert(io.open(args[1], "rb"))
  local path = args[2]
  for line in file:lines() do
    local auth, ctype, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = { ["Content-Type"] = ctype }
    if auth ~= "" then headers["Authorization"] = auth end
    requests[#requests + 1] = wrk.format("POST", path, headers, body)
  end
  file:close()
  -- threads start at different places in the list
  next = (tonumber(args[3]) or 0) % #requests + 1
end
function request()
  local r = requests[next]
  next = next % #requests + 1
  return r
end
function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format("WRK_RESULT {\"requests\":%d,\"errors\":%d,\"micros\":%d,\"p50\":%d,\"p90\":%d,\"p99\":%d}\n",
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
`;

export interface WrkOptions {
  url: string;
  requests: WrkRequest[];
  connections: number;
  seconds: number;
  /** Where in the list to start (several wrk processes on one list start at different places). */
  offset?: number;
}

/** Run wrk once; resolves with what it measured. Timeouts are 10 s per request (wrk's --timeout). */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "nexus-wrk-"));
  try {
    const script = path.join(dir, "requests.lua");
    const list = path.join(dir, "requests.txt");
    writeFileSync(script, SCRIPT);
    writeFileSync(
      list,
      options.requests.map((r) => `${r.authorization ?? ""}\t${r.contentType ?? "application/json"}\t${r.body}`).join("\n") + "\n",
    );
    const url = new URL(options.url);
    const args = ["-t1", `-c${options.connections}`, `-d${options.seconds}s`, "--timeout", "10s", "-s", script, `${url.origin}/`, "--", list, url.pathname, String(options.offset ?? 0)];
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (out += c.toString()));
      child.on("error", (error) => reject(new Error(`wrk could not start (apt-get install wrk): ${error.message}`)));
      child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited ${code}: ${out}`))));
    });
    const line = output.split("\n").find((l) => l.startsWith("WRK_RESULT "));
    if (!line) throw new Error(`wrk printed no result: ${output}`);
    const r = JSON.parse(line.slice("WRK_RESULT ".length)) as { requests: number; errors: number; micros: number; p50: number; p90: number; p99: number };
    const seconds = r.micros / 1e6;
    return { requests: r.requests, errors: r.errors, seconds, perSecond: r.requests / seconds, p50: r.p50 / 1000, p90: r.p90 / 1000, p99: r.p99 / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
