/**
 * A LiveKit RoomService endpoint on 127.0.0.1 for the reconcile sweep: it checks the request the way LiveKit does
 * (a Bearer JWT from the API key and secret, verified with the SDK's TokenVerifier, carrying the roomList/
 * roomAdmin grant for the room) and answers ListParticipants from the participant list the test sets.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { TokenVerifier } from "livekit-server-sdk";
import { LIVEKIT_KEY, LIVEKIT_SECRET } from "./livekit.ts";

export interface FakeRoomService {
  url: string;
  rooms: Map<string, string[]>;
  requests: Array<{ room: string; authorized: boolean }>;
  /** When set, every call fails with this Twirp error (an outage), after authentication. */
  outage?: { status: number; code: string; msg: string };
  close(): Promise<void>;
}

export async function startRoomService(): Promise<FakeRoomService> {
  const rooms = new Map<string, string[]>();
  const requests: FakeRoomService["requests"] = [];
  const verifier = new TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET);
  const server = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const reply = (status: number, json: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(json));
    };
    if (req.url !== "/twirp/livekit.RoomService/ListParticipants") return reply(404, { code: "bad_route", msg: req.url });
    const { room } = JSON.parse(body || "{}");
    let authorized = false;
    try {
      const claims = await verifier.verify((req.headers.authorization ?? "").replace(/^Bearer /, ""));
      authorized = claims.video?.roomAdmin === true && claims.video?.room === room;
    } catch {
      authorized = false;
    }
    requests.push({ room, authorized });
    if (!authorized) return reply(401, { code: "unauthenticated", msg: "invalid token" });
    if (service.outage) return reply(service.outage.status, { code: service.outage.code, msg: service.outage.msg });
    const sids = rooms.get(room);
    if (!sids) return reply(404, { code: "not_found", msg: "room not found" });
    reply(200, { participants: sids.map((sid) => ({ sid, identity: `id-${sid}`, state: "ACTIVE" })) });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const service: FakeRoomService = {
    url: `http://127.0.0.1:${port}`,
    rooms,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return service;
}
