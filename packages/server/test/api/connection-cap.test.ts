import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { addressMatcher } from "../../src/http/connection-cap.js";
import { startServer, type TestServer } from "../harness/server.js";

// Issue 10: one client address cannot hold every connection slot with idle sockets; trusted proxies, whose
// address every client behind them shares, are exempt.

let server: TestServer | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await server?.stop();
  server = undefined;
});

/** Opens an idle TCP connection; resolves once connected, with a promise of its close. */
async function idle(): Promise<{ socket: Socket; closed: Promise<void> }> {
  const { port } = new URL(server!.url);
  const socket = connect(Number(port), "127.0.0.1");
  sockets.push(socket);
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  return { socket, closed };
}

/** Sends a bare GET /api/health on a socket and resolves with the status line, or "" if it closes first. */
function health(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    socket.on("data", (d) => {
      got += d;
      if (got.includes("\r\n")) resolve(got.split("\r\n")[0]);
    });
    socket.once("close", () => resolve(got.split("\r\n")[0] ?? ""));
    socket.write("GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n");
  });
}

const settle = () => new Promise((r) => setTimeout(r, 100));

describe("connections per address", () => {
  it("closes connections past the cap as they arrive, and takes new ones once others close", async () => {
    server = await startServer({ maxConnectionsPerIp: 5 });
    const held = [];
    for (let i = 0; i < 5; i++) held.push(await idle());
    await settle();
    const extra = await idle();
    await extra.closed;
    expect(await health(held[0].socket)).toBe("HTTP/1.1 200 OK");
    held[1].socket.destroy();
    await held[1].closed;
    await settle();
    const next = await idle();
    expect(await health(next.socket)).toBe("HTTP/1.1 200 OK");
  });

  it("leaves trusted proxies uncapped, and 0 turns the cap off", async () => {
    for (const config of [
      { maxConnectionsPerIp: 3, trustedProxies: ["loopback"] },
      { maxConnectionsPerIp: 0 },
    ]) {
      server = await startServer(config);
      const held = [];
      for (let i = 0; i < 6; i++) held.push(await idle());
      await settle();
      for (const h of held) expect(await health(h.socket)).toBe("HTTP/1.1 200 OK");
      for (const s of sockets.splice(0)) s.destroy();
      await server.stop();
      server = undefined;
    }
  });

  it("matches addresses, CIDR blocks and range names, IPv4-mapped addresses included", () => {
    const m = addressMatcher(["10.1.2.3", "192.168.0.0/16", "loopback", "2001:db8::/32", "not an address"]);
    expect(m("10.1.2.3")).toBe(true);
    expect(m("::ffff:10.1.2.3")).toBe(true);
    expect(m("10.1.2.4")).toBe(false);
    expect(m("192.168.44.1")).toBe(true);
    expect(m("127.0.0.5")).toBe(true);
    expect(m("::1")).toBe(true);
    expect(m("2001:db8:1::9")).toBe(true);
    expect(m("2001:db9::1")).toBe(false);
  });
});
