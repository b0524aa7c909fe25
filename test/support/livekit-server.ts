/**
 * A LiveKit RoomService endpoint on 127.0.0.1 (Twirp JSON over HTTP) for the reconcile sweep and live rights: it
 * checks each request the way LiveKit does (a Bearer JWT from the API key and secret, verified with the SDK's
 * TokenVerifier, carrying the roomAdmin grant for the request's room) and answers:
 *  - ListParticipants from the participant list the test sets (`rooms`: sids per room);
 *  - UpdateParticipant / RemoveParticipant on the participants the test put in (`join`, which lists them for
 *    ListParticipants too), 404 `not_found` for
 *    one that is not there. A permission in UpdateParticipant replaces the participant's whole permission, as
 *    LiveKit does; protobuf JSON leaves out false booleans, so a missing one is false.
 * Every call is recorded in `requests`, with what it asked and the status it got.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { TokenVerifier } from "livekit-server-sdk";
import { LIVEKIT_KEY, LIVEKIT_SECRET } from "./livekit.ts";

export interface Permission {
  canSubscribe: boolean;
  canPublish: boolean;
  canPublishData: boolean;
}

export interface RoomServiceRequest {
  method: string;
  room: string;
  identity?: string;
  permission?: Permission;
  authorized: boolean;
  status: number;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface FakeRoomService {
  url: string;
  rooms: Map<string, string[]>;
  /** Connected participants by room, then identity. */
  participants: Map<string, Map<string, { sid: string; permission: Permission }>>;
  requests: RoomServiceRequest[];
  /** When set, every call fails with this Twirp error (an outage), after authentication. */
  outage?: { status: number; code: string; msg: string };
  /**
   * When set, every call waits for it (after authentication) before it is answered: a call still in flight. A call
   * its client gave up on meanwhile (its deadline) is then dropped, not applied, and keeps status 0.
   */
  hold?: Promise<void>;
  /** Called on every request as it arrives (benchmarks time the calls with it). */
  onRequest?: (request: RoomServiceRequest) => void;
  join(room: string, identity: string, sid: string, permission: Permission): void;
  permissionOf(room: string, identity: string): Permission | undefined;
  close(): Promise<void>;
}

const METHODS = new Set(["ListParticipants", "UpdateParticipant", "RemoveParticipant"]);

export async function startRoomService(): Promise<FakeRoomService> {
  const rooms = new Map<string, string[]>();
  const participants: FakeRoomService["participants"] = new Map();
  const requests: RoomServiceRequest[] = [];
  const verifier = new TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET);
  const server = http.createServer(async (req, res) => {
    const at = Date.now();
    let body = "";
    for await (const chunk of req) body += chunk;
    const reply = (status: number, json: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(json));
    };
    const method = /^\/twirp\/livekit\.RoomService\/(\w+)$/.exec(req.url ?? "")?.[1];
    if (!method || !METHODS.has(method)) return reply(404, { code: "bad_route", msg: req.url });
    const parsed = JSON.parse(body || "{}");
    const room: string = parsed.room ?? "";
    let authorized = false;
    try {
      const claims = await verifier.verify((req.headers.authorization ?? "").replace(/^Bearer /, ""));
      authorized = claims.video?.roomAdmin === true && claims.video?.room === room;
    } catch {
      authorized = false;
    }
    const request: RoomServiceRequest = { method, room, identity: parsed.identity, authorized, status: 0, at };
    if (method === "UpdateParticipant" && parsed.permission) {
      request.permission = {
        canSubscribe: parsed.permission.canSubscribe === true,
        canPublish: parsed.permission.canPublish === true,
        canPublishData: parsed.permission.canPublishData === true,
      };
    }
    requests.push(request);
    service.onRequest?.(request);
    const answer = (status: number, json: unknown) => {
      request.status = status;
      reply(status, json);
    };
    if (!authorized) return answer(401, { code: "unauthenticated", msg: "invalid token" });
    while (service.hold) await service.hold;
    if (req.socket.destroyed) return;
    if (service.outage) return answer(service.outage.status, { code: service.outage.code, msg: service.outage.msg });

    if (method === "ListParticipants") {
      const sids = rooms.get(room);
      if (!sids) return answer(404, { code: "not_found", msg: "room not found" });
      return answer(200, { participants: sids.map((sid) => ({ sid, identity: `id-${sid}`, state: "ACTIVE" })) });
    }
    const present = participants.get(room)?.get(parsed.identity);
    if (!present) return answer(404, { code: "not_found", msg: "participant not found" });
    if (method === "RemoveParticipant") {
      participants.get(room)!.delete(parsed.identity);
      rooms.set(room, (rooms.get(room) ?? []).filter((sid) => sid !== present.sid));
      return answer(200, {});
    }
    if (request.permission) present.permission = request.permission;
    return answer(200, { sid: present.sid, identity: parsed.identity, state: "ACTIVE", permission: present.permission });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const service: FakeRoomService = {
    url: `http://127.0.0.1:${port}`,
    rooms,
    participants,
    requests,
    join(room, identity, sid, permission) {
      if (!participants.has(room)) participants.set(room, new Map());
      participants.get(room)!.set(identity, { sid, permission: { ...permission } });
      // ListParticipants (the reconcile sweep) sees them too.
      rooms.set(room, [...(rooms.get(room) ?? []), sid]);
    },
    permissionOf(room, identity) {
      return participants.get(room)?.get(identity)?.permission;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return service;
}
