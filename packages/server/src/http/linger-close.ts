import type { FastifyReply, FastifyRequest } from "fastify";

/** How long the connection of a refused upload stays open (unread) after its answer, for the client to read it. */
const LINGER_MS = 3_000;

/**
 * Closes the connection of a request answered before its body was read in full (a limit crossed mid-upload),
 * once the answer has gone out: the write side is closed at once and nothing more is read, so the client
 * stops on backpressure instead of the server reading (and dropping) the rest of the body however large it
 * is; after a short while the socket is destroyed. Destroying it at once could reset the connection before
 * the client has read the answer.
 */
export function closeAfterAnswer(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  if (raw.complete) return;
  // Fastify asks for `Connection: close` on a body parser's error, which makes Node destroy the socket right
  // after the answer (a reset that can discard it); the close below is gentler
  reply.removeHeader("connection");
  reply.raw.once("finish", () => {
    const socket = raw.socket;
    if (raw.complete || socket.destroyed) return;
    socket.pause();
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  });
}
