import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SmtpMailer } from "../../src/mail/index.js";
import { MAIL_QUEUE } from "../../src/mail/mail-service.js";
import { freePort } from "../cli/cli-helpers.js";
import { insertAuthRecord } from "../harness/fixtures/auth-records.js";
import { startServer, type TestServer } from "../harness/server.js";
import { deferred, waitFor } from "../harness/wait.js";

function smtpMailer(port: number): SmtpMailer {
  return new SmtpMailer({
    enabled: true,
    host: "127.0.0.1",
    port,
    username: "",
    password: "",
    authMethod: "PLAIN",
    tls: false,
    localName: "",
  });
}

async function startSmtp(
  options: Partial<SMTPServerOptions>,
): Promise<{ port: number; stop: () => Promise<void> }> {
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    ...options,
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  return {
    port: (smtp.server.address() as AddressInfo).port,
    stop: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
}

const requestReset = (server: TestServer, email: string) =>
  server.fetch("/api/collections/users/request-password-reset", { method: "POST", json: { email } });

describe("e-mail goes through the job queue", () => {
  let server: TestServer;
  const stops: (() => Promise<void>)[] = [];
  beforeEach(async () => {
    server = await startServer({ jobsPollMs: 20 });
    await insertAuthRecord(server, "users", { email: "mia@example.com" });
  });
  afterEach(async () => {
    await server.stop();
    for (const stop of stops.splice(0)) await stop();
  });
  const mailJobs = async () => (await server.basalt.app.jobs.list({ queue: MAIL_QUEUE })).items;

  it("answers before a slow SMTP server has taken the message", async () => {
    const release = deferred();
    const received: string[] = [];
    const smtp = await startSmtp({
      onData(stream, session, callback) {
        stream.resume();
        stream.on("end", () => {
          received.push(session.envelope.rcptTo[0].address);
          // the server holds the message until the test has its answer
          release.promise.then(() => callback());
        });
      },
    });
    stops.push(smtp.stop);
    server.basalt.app.mail.useMailer(smtpMailer(smtp.port));
    const res = await requestReset(server, "mia@example.com");
    expect(res.status).toBe(204);
    release.resolve();
    await waitFor(async () => (await mailJobs())[0]?.state === "done", "the message to be delivered");
    expect(received).toEqual(["mia@example.com"]);
  });

  it("retries a message the SMTP server refused, and the request still succeeds", async () => {
    let refusals = 0;
    const received: string[] = [];
    const smtp = await startSmtp({
      onRcptTo(_address, _session, callback) {
        if (refusals++ === 0) {
          const err = Object.assign(new Error("Try again later"), { responseCode: 451 });
          return callback(err);
        }
        callback();
      },
      onData(stream, session, callback) {
        stream.resume();
        stream.on("end", () => {
          received.push(session.envelope.rcptTo[0].address);
          callback();
        });
      },
    });
    stops.push(smtp.stop);
    server.basalt.app.mail.useMailer(smtpMailer(smtp.port));
    expect((await requestReset(server, "mia@example.com")).status).toBe(204);
    const job = await waitFor(
      async () => (await mailJobs()).find((j) => j.state === "done"),
      "the retried message to be delivered",
    );
    expect(job.attempts).toBe(2);
    expect(job.lastError).toContain("Try again later");
    expect(received).toEqual(["mia@example.com"]);
  });

  it("keeps the message queued with its error when no SMTP server answers", async () => {
    const closedPort = await freePort();
    server.basalt.app.mail.useMailer(smtpMailer(closedPort));
    expect((await requestReset(server, "mia@example.com")).status).toBe(204);
    const job = await waitFor(
      async () => (await mailJobs()).find((j) => j.attempts >= 1 && j.state === "pending" && j.lastError),
      "the failed attempt to be recorded",
    );
    expect(job.lastError).toMatch(/ECONNREFUSED|connect/i);
    expect(job.payload).toMatchObject({ to: [{ address: "mia@example.com" }] });
  });
});
