/**
 * Building push requests (web-push's generateRequestDetails: the RFC 8291 encryption of the payload, the headers)
 * on a thread of its own, so the event loop that sends the requests, reads the answers and talks to Postgres is
 * not the one doing the ECDH and HKDF. Encryption is about two thirds of a worker's CPU in a fan-out
 * (docs/BENCHMARKS.md): on the event loop it made one worker process's thread the limit of a flare on a machine
 * that had a core to spare for it.
 *
 * Requests made in the same tick (a delivery job sends its whole batch at once) travel to the thread as one
 * message and come back as one. The thread holds nothing between messages and is unref'd while idle, so it never
 * keeps a process alive.
 */
import { Worker } from "node:worker_threads";
import type webpush from "web-push";

export interface BuildRequest {
  subscription: webpush.PushSubscription;
  payload: string;
  options: webpush.RequestOptions;
}

/** What the thread answers for one request: the request to send, or why it cannot be built. */
export type Built = { details: webpush.RequestDetails; error?: undefined } | { details?: undefined; error: string };

/** The thread could not answer (it died, or the sender was closed): nothing was decided about the push. */
export class EncryptionUnavailable extends Error {}

export interface RequestBuilder {
  build(request: BuildRequest): Promise<webpush.RequestDetails>;
  close(): void;
}

export function createRequestBuilder(): RequestBuilder {
  let thread: Worker | undefined;
  let batch: Array<{ request: BuildRequest; resolve: (d: webpush.RequestDetails) => void; reject: (e: Error) => void }> = [];
  const inFlight = new Map<number, typeof batch>();
  let nextId = 0;
  let closed = false;

  const failAll = (error: Error) => {
    for (const waiting of inFlight.values()) for (const w of waiting) w.reject(error);
    inFlight.clear();
    thread = undefined;
  };

  const start = () => {
    const worker = new Worker(new URL("./encryption-thread.ts", import.meta.url));
    worker.on("message", ({ id, results }: { id: number; results: Built[] }) => {
      const waiting = inFlight.get(id);
      inFlight.delete(id);
      if (inFlight.size === 0) worker.unref();
      waiting?.forEach((w, i) => {
        const r = results[i]!;
        if (r.error !== undefined) w.reject(new Error(r.error));
        else w.resolve({ ...r.details, body: r.details.body ? Buffer.from(r.details.body) : null });
      });
    });
    worker.on("error", (error) => failAll(new EncryptionUnavailable(`the push encryption thread failed: ${error instanceof Error ? error.message : String(error)}`)));
    worker.on("exit", (code) => {
      if (thread === worker) failAll(new EncryptionUnavailable(`the push encryption thread exited (${code})`));
    });
    worker.unref();
    return worker;
  };

  const flush = () => {
    const sending = batch;
    batch = [];
    if (sending.length === 0) return;
    if (closed) {
      for (const w of sending) w.reject(new EncryptionUnavailable("the push sender is closed"));
      return;
    }
    thread ??= start();
    const id = nextId++;
    inFlight.set(id, sending);
    thread.ref();
    thread.postMessage({ id, requests: sending.map((w) => w.request) });
  };

  return {
    build(request) {
      return new Promise((resolve, reject) => {
        if (batch.length === 0) queueMicrotask(flush);
        batch.push({ request, resolve, reject });
      });
    },
    close() {
      closed = true;
      const worker = thread;
      thread = undefined;
      failAll(new EncryptionUnavailable("the push sender is closed"));
      void worker?.terminate();
    },
  };
}
