/**
 * A Web Push service on 127.0.0.1 for tests and benchmarks, standing in for FCM or Mozilla's autopush. It speaks
 * HTTPS with a self-signed certificate, which the sender trusts through NODE_EXTRA_CA_CERTS pointing at
 * `caFile` (so the worker sending must be a process started with it: see worker-process.ts). For every message it
 * does what a real push service and the receiving browser do between them:
 *   - checks the VAPID header (RFC 8292): `vapid t=<JWT>, k=<key>`, k is the application server key the
 *     subscriber subscribed with, the JWT is ES256 under that key, aud is this service's origin, exp is in the
 *     future and at most 24 h away, sub is a mailto: or https: contact;
 *   - decrypts the body (RFC 8291 / RFC 8188 aes128gcm) with the subscriber's private key and auth secret.
 * A message that fails either check is answered 400/401/403 and recorded in `rejected`, never in `deliveries`.
 *
 * Each subscriber (a simulated browser with its own P-256 key pair and auth secret) can be told how to answer:
 * accept (201), gone (410), or fail the first n requests with 500 before accepting; or, as a hostile or broken
 * push service would, never finish: `stall-body` sends 201 and the first bytes of a body, then nothing;
 * `no-answer` reads the request and never answers; `silent` endpoints are on a second port that accepts TCP
 * connections and never says a word (not even TLS); `flood` answers its status and then streams body chunks for
 * as long as the connection stays open, recording in `floods` how much it wrote before it closed (it is not
 * counted in `held`). `held` counts the connections the stalling subscribers are holding open right now: the
 * sender must close them by its deadline.
 *
 * The sender must be allowed to contact it: `env` has PUSH_ALLOWED_HOSTS (127.0.0.1 on any port) and
 * NODE_EXTRA_CA_CERTS for the server and worker that use it.
 */
import { createDecipheriv, createECDH, createHash, createPublicKey, randomBytes, randomUUID, type ECDH, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import https from "node:https";
import net, { type AddressInfo, type Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { compactVerify } from "jose";
import { selfSignedCertificate } from "./self-signed.ts";

export type Behaviour =
  | { kind: "accept" }
  | { kind: "gone" }
  | { kind: "fail-first"; times: number; status?: number }
  | { kind: "stall-body" }
  | { kind: "no-answer" }
  | { kind: "silent" }
  | { kind: "flood"; status: number };

/** One connection a `flood` subscriber streamed its endless body on, until the other side closed it. */
export interface Flood {
  subscriberId: string;
  status: number;
  /** Body bytes accepted by the socket so far, and in all once it has closed. */
  bytesWritten: number;
  openedAt: number;
  /** performance.now() when the socket closed; undefined while it is open. */
  closedAt?: number;
}

/** The allowed list a deployment of the tests names its local push service with. */
export const PUSH_SERVICE_ALLOWED_HOSTS = "127.0.0.1:*";

export interface Subscriber {
  id: string;
  endpoint: string;
  /** Base64url, as the browser's PushSubscription.toJSON().keys gives them. */
  p256dh: string;
  auth: string;
  behaviour: Behaviour;
  /** Requests received for this subscriber, whatever the answer. */
  requests: number;
  ecdh: ECDH;
  authSecret: Buffer;
}

export interface Delivery {
  subscriberId: string;
  text: string;
  payload: any;
  receivedAt: number;
  headers: { ttl: string | undefined; urgency: string | undefined };
}

export interface Rejection {
  subscriberId: string | undefined;
  status: number;
  reason: string;
}

export interface PushService {
  origin: string;
  /** PEM file with the service's certificate, for NODE_EXTRA_CA_CERTS. */
  caFile: string;
  /** What a server or worker sending to this service needs in its environment. */
  env: { PUSH_ALLOWED_HOSTS: string; NODE_EXTRA_CA_CERTS: string };
  /** Connections the stalling behaviours hold open at this moment. */
  held(): number;
  /** Connections the stalling behaviours have held in all (each attempt is one). */
  stalls: number;
  floods: Flood[];
  deliveries: Delivery[];
  rejected: Rejection[];
  /** Distinct VAPID JWTs seen: a sender that reuses its header per push service sends few. */
  vapidTokens: Set<string>;
  subscribers: Map<string, Subscriber>;
  subscribe(behaviour?: Behaviour): Subscriber;
  deliveriesFor(subscriberId: string): Delivery[];
  /** Resolves when `predicate` holds after a delivery (checked at once too); rejects after timeoutMs. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const KEY_INFO = Buffer.from("WebPush: info\0", "latin1");
const CEK_INFO = Buffer.from("Content-Encoding: aes128gcm\0", "latin1");
const NONCE_INFO = Buffer.from("Content-Encoding: nonce\0", "latin1");

/*
 * HMAC-SHA256 (RFC 2104) and HKDF (RFC 5869) for at most one 32-byte block, built on createHash: the same bytes
 * as crypto.hkdfSync, about five times cheaper per call on Node 24, whose createHmac/hkdfSync spend most of their
 * time preparing the key. It matters only because this service decrypts 10,000 messages in the benchmark.
 */
const IPAD = Buffer.alloc(64, 0x36);
const OPAD = Buffer.alloc(64, 0x5c);
function hmacSha256(key: Buffer, ...data: Buffer[]): Buffer {
  const block = Buffer.alloc(64);
  (key.length > 64 ? createHash("sha256").update(key).digest() : key).copy(block);
  const inner = createHash("sha256");
  const outer = createHash("sha256");
  const padded = Buffer.alloc(64);
  for (let i = 0; i < 64; i++) padded[i] = block[i]! ^ IPAD[i]!;
  inner.update(padded);
  for (const d of data) inner.update(d);
  for (let i = 0; i < 64; i++) padded[i] = block[i]! ^ OPAD[i]!;
  return outer.update(padded).update(inner.digest()).digest();
}
const ONE = Buffer.from([1]);
function hkdf(ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer {
  if (length > 32) throw new Error("hkdf here expands one block only");
  return hmacSha256(hmacSha256(salt, ikm), info, ONE).subarray(0, length);
}

/** RFC 8291 §3.4 and RFC 8188: the plaintext of an aes128gcm body for this subscriber. */
export function decryptAes128gcm(body: Buffer, subscriber: Pick<Subscriber, "ecdh" | "authSecret">): Buffer {
  if (body.length < 21) throw new Error("body shorter than the aes128gcm header");
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  const senderPublicKey = body.subarray(21, 21 + idLength);
  if (idLength !== 65) throw new Error(`keyid must be the sender's 65-byte P-256 key, got ${idLength} bytes`);
  if (recordSize < 18) throw new Error("record size too small");

  const receiverPublicKey = subscriber.ecdh.getPublicKey();
  const ecdhSecret = subscriber.ecdh.computeSecret(senderPublicKey);
  const ikm = hkdf(ecdhSecret, subscriber.authSecret, Buffer.concat([KEY_INFO, receiverPublicKey, senderPublicKey]), 32);
  const cek = hkdf(ikm, salt, CEK_INFO, 16);
  const baseNonce = hkdf(ikm, salt, NONCE_INFO, 12);

  const records = body.subarray(21 + idLength);
  const parts: Buffer[] = [];
  for (let offset = 0, seq = 0; offset < records.length; offset += recordSize, seq++) {
    const record = records.subarray(offset, Math.min(offset + recordSize, records.length));
    const nonce = Buffer.from(baseNonce);
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ seq) >>> 0, 8); // RFC 8188 §2.3: nonce XOR record sequence number
    const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
    decipher.setAuthTag(record.subarray(record.length - 16));
    const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    let end = padded.length - 1;
    while (end >= 0 && padded[end] === 0) end--;
    const last = offset + recordSize >= records.length;
    if (end < 0 || padded[end] !== (last ? 2 : 1)) throw new Error("bad padding delimiter");
    parts.push(padded.subarray(0, end));
  }
  return Buffer.concat(parts);
}

function rawP256ToKeyObject(raw: Buffer): KeyObject {
  if (raw.length !== 65 || raw[0] !== 4) throw new Error("k is not an uncompressed P-256 point");
  return createPublicKey({
    key: { kty: "EC", crv: "P-256", x: raw.subarray(1, 33).toString("base64url"), y: raw.subarray(33).toString("base64url") },
    format: "jwk",
  });
}

export async function startPushService(options: { vapidPublicKey: string }): Promise<PushService> {
  const { cert, key } = selfSignedCertificate();
  const caFile = path.join(os.tmpdir(), `nexus-push-ca-${process.pid}-${randomBytes(4).toString("hex")}.pem`);
  writeFileSync(caFile, cert);

  const applicationServerKey = rawP256ToKeyObject(Buffer.from(options.vapidPublicKey, "base64url"));
  const subscribers = new Map<string, Subscriber>();
  const deliveries: Delivery[] = [];
  const byId = new Map<string, Delivery[]>();
  const rejected: Rejection[] = [];
  const waiters = new Set<() => void>();
  // A JWT whose signature checked out once need not be verified again: the same bytes under the same key.
  const verifiedTokens = new Map<string, { aud: string; exp: number; sub: string }>();
  const vapidTokens = new Set<string>();
  let origin = "";
  const holding = new Set<Socket>();
  let stalls = 0;
  const floods: Flood[] = [];
  function hold(socket: Socket) {
    stalls++;
    holding.add(socket);
    socket.once("close", () => holding.delete(socket));
  }

  async function checkVapid(authorization: string | undefined): Promise<string | undefined> {
    const match = /^vapid\s+t=([A-Za-z0-9_.-]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? "");
    if (!match) return "Authorization is not 'vapid t=…, k=…'";
    const [, token, k] = match as unknown as [string, string, string];
    if (k !== options.vapidPublicKey) return "k is not the application server key this subscription was made with";
    vapidTokens.add(token);
    let claims = verifiedTokens.get(token);
    if (!claims) {
      try {
        const { payload, protectedHeader } = await compactVerify(token, applicationServerKey, { algorithms: ["ES256"] });
        if (protectedHeader.alg !== "ES256") return "JWT alg is not ES256";
        claims = JSON.parse(Buffer.from(payload).toString("utf8"));
      } catch (error) {
        return `JWT signature does not verify under k: ${(error as Error).message}`;
      }
      verifiedTokens.set(token, claims!);
    }
    const now = Math.floor(Date.now() / 1000);
    if (claims!.aud !== origin) return `JWT aud ${claims!.aud} is not this push service's origin ${origin}`;
    if (typeof claims!.exp !== "number" || claims!.exp <= now) return "JWT has expired";
    if (claims!.exp > now + 24 * 3600) return "JWT exp is more than 24 hours away";
    if (typeof claims!.sub !== "string" || !/^(mailto:|https:)/.test(claims!.sub)) return "JWT sub is not a mailto: or https: contact";
    return undefined;
  }

  const server = https.createServer({ key, cert, keepAliveTimeout: 30_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const id = /^\/push\/([0-9a-f-]{36})$/.exec(req.url ?? "")?.[1];
      const subscriber = id ? subscribers.get(id) : undefined;
      const reject = (status: number, reason: string) => {
        rejected.push({ subscriberId: id, status, reason });
        res.writeHead(status, { "content-type": "text/plain" }).end(reason);
      };
      if (req.method !== "POST" || !subscriber) return reject(404, "no such subscription");
      subscriber.requests++;
      const vapidError = await checkVapid(req.headers.authorization);
      if (vapidError) return reject(403, vapidError);
      if (req.headers["content-encoding"] !== "aes128gcm") return reject(400, "Content-Encoding must be aes128gcm");
      if (!/^\d+$/.test(String(req.headers.ttl ?? ""))) return reject(400, "TTL header missing");

      const behaviour = subscriber.behaviour;
      if (behaviour.kind === "stall-body" || behaviour.kind === "no-answer") {
        hold(req.socket);
        if (behaviour.kind === "stall-body") {
          res.writeHead(201, { "content-type": "text/plain", "content-length": "1000" });
          res.write("accepted, and the rest of this answer never comes");
        }
        return;
      }
      if (behaviour.kind === "flood") {
        const flood: Flood = { subscriberId: subscriber.id, status: behaviour.status, bytesWritten: 0, openedAt: performance.now() };
        floods.push(flood);
        const chunk = Buffer.alloc(16 * 1024, "x");
        res.writeHead(behaviour.status, { "content-type": "text/plain" });
        res.on("error", () => {});
        // One chunk a millisecond (up to 16 MiB/s, some 160 MiB over a 10 s deadline), never ending the chunked
        // body. Paced, so what it counts is what it sent while the connection was open, not what loopback's
        // socket buffers (megabytes) would take in at once.
        const pour = setInterval(() => {
          if (res.writableNeedDrain) return;
          flood.bytesWritten += chunk.length;
          res.write(chunk);
        }, 1);
        req.socket.once("close", () => {
          clearInterval(pour);
          flood.closedAt = performance.now();
        });
        return;
      }
      if (behaviour.kind === "gone") return res.writeHead(410).end("push subscription has unsubscribed or expired");
      if (behaviour.kind === "fail-first" && subscriber.requests <= behaviour.times) {
        return res.writeHead(behaviour.status ?? 500).end("temporarily unavailable");
      }
      let text: string;
      try {
        text = decryptAes128gcm(Buffer.concat(chunks), subscriber).toString("utf8");
      } catch (error) {
        return reject(400, `cannot decrypt: ${(error as Error).message}`);
      }
      const delivery: Delivery = {
        subscriberId: subscriber.id,
        text,
        payload: JSON.parse(text),
        receivedAt: performance.now(),
        headers: { ttl: req.headers.ttl as string | undefined, urgency: req.headers.urgency as string | undefined },
      };
      deliveries.push(delivery);
      let list = byId.get(subscriber.id);
      if (!list) byId.set(subscriber.id, (list = []));
      list.push(delivery);
      res.writeHead(201, { location: `${origin}/message/${randomUUID()}` }).end();
      for (const wake of waiters) wake();
    });
  });
  server.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // Accepts the connection, then says nothing at all: no TLS handshake, no answer.
  const silent = net.createServer((socket) => {
    hold(socket);
    socket.on("error", () => {});
    // Read (and drop) the ClientHello, so the sender closing its end is seen at once.
    socket.resume();
  });
  silent.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => silent.once("listening", resolve));
  const silentOrigin = `https://127.0.0.1:${(silent.address() as AddressInfo).port}`;

  return {
    origin,
    caFile,
    env: { PUSH_ALLOWED_HOSTS: PUSH_SERVICE_ALLOWED_HOSTS, NODE_EXTRA_CA_CERTS: caFile },
    held: () => holding.size,
    get stalls() {
      return stalls;
    },
    floods,
    deliveries,
    rejected,
    vapidTokens,
    subscribers,
    subscribe(behaviour = { kind: "accept" }) {
      const ecdh = createECDH("prime256v1");
      ecdh.generateKeys();
      const authSecret = randomBytes(16);
      const id = randomUUID();
      const subscriber: Subscriber = {
        id,
        endpoint: `${behaviour.kind === "silent" ? silentOrigin : origin}/push/${id}`,
        p256dh: ecdh.getPublicKey().toString("base64url"),
        auth: authSecret.toString("base64url"),
        behaviour,
        requests: 0,
        ecdh,
        authSecret,
      };
      subscribers.set(id, subscriber);
      return subscriber;
    },
    deliveriesFor: (subscriberId) => byId.get(subscriberId) ?? [],
    waitFor(predicate, timeoutMs = 20_000) {
      if (predicate()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          const first = rejected[0] ? `; first rejection: ${rejected[0].status} ${rejected[0].reason}` : "";
          reject(new Error(`push service: condition not met within ${timeoutMs} ms (${deliveries.length} deliveries, ${rejected.length} rejected${first})`));
        }, timeoutMs);
        const check = () => {
          if (!predicate()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    async close() {
      for (const socket of holding) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
        new Promise<void>((resolve) => silent.close(() => resolve())),
      ]);
    },
  };
}
