/**
 * The thread of core/push/encryption.ts: builds each push request it is sent with web-push (payload encryption,
 * headers) and answers them all in one message, bodies transferred rather than copied.
 */
import { parentPort } from "node:worker_threads";
import webpush from "web-push";
import type { BuildRequest, Built } from "./encryption.ts";

parentPort!.on("message", ({ id, requests }: { id: number; requests: BuildRequest[] }) => {
  const bodies: ArrayBuffer[] = [];
  const results: Built[] = requests.map(({ subscription, payload, options }) => {
    try {
      const details = webpush.generateRequestDetails(subscription, payload, options);
      if (details.body) {
        // A copy of its own, so transferring it cannot take a pooled buffer's neighbours along.
        const body = new Uint8Array(details.body);
        bodies.push(body.buffer);
        return { details: { ...details, body: body as unknown as Buffer } };
      }
      return { details };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  });
  parentPort!.postMessage({ id, results }, bodies);
});
