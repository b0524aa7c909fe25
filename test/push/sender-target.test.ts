/**
 * The sender connects only to the host and port Postgres approved for a row, as the WHATWG URL parser reads the
 * endpoint; where the two readings could differ, it does not send at all.
 */
import { describe, expect, it } from "vitest";
import { approvedTarget } from "../../core/push/sender.ts";

describe("approvedTarget", () => {
  it("is the URL when WHATWG reads the host and port Postgres approved", () => {
    expect(approvedTarget({ endpoint: "https://fcm.googleapis.com/fcm/send/a", host: "fcm.googleapis.com", port: 443 })?.href).toBe(
      "https://fcm.googleapis.com/fcm/send/a",
    );
    expect(approvedTarget({ endpoint: "https://127.0.0.1:8443/push/a", host: "127.0.0.1", port: 8443 })?.port).toBe("8443");
    expect(approvedTarget({ endpoint: "https://[::1]:8443/push/a", host: "[::1]", port: 8443 })?.hostname).toBe("[::1]");
    expect(approvedTarget({ endpoint: "https://FCM.googleapis.com:443/fcm/send/a", host: "fcm.googleapis.com", port: 443 })?.host).toBe("fcm.googleapis.com");
  });

  it.each([
    ["another host than approved", "https://evil.example/x", "fcm.googleapis.com", 443],
    ["another port than approved", "https://fcm.googleapis.com:8443/x", "fcm.googleapis.com", 443],
    ["a spelling WHATWG rewrites to the approved address", "https://127.1:8443/x", "127.0.0.1", 8443],
    ["an IPv6 spelling WHATWG rewrites", "https://[::ffff:127.0.0.1]/x", "[::ffff:7f00:1]", 443],
    ["credentials", "https://user@fcm.googleapis.com/x", "fcm.googleapis.com", 443],
    ["a backslash WHATWG reads as a slash", "https://127.0.0.1:8443\\@fcm.googleapis.com/x", "127.0.0.1", 8443],
    ["a port WHATWG drops, then a backslash", "https://fcm.googleapis.com:443\\@evil.example/x", "fcm.googleapis.com", 443],
    ["no approval at all", "https://fcm.googleapis.com/x", null, null],
    ["not https", "http://fcm.googleapis.com/x", "fcm.googleapis.com", 443],
  ] as const)("refuses %s", (_label, endpoint, host, port) => {
    expect(approvedTarget({ endpoint, host, port })).toBeUndefined();
  });
});
