import { ClientResponseError } from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALICE, type Blog, setupBlog } from "../harness/fixtures/blog.js";
import { startServer, type TestServer } from "../harness/server.js";

let server: TestServer;
let blog: Blog;

async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    if (err instanceof ClientResponseError)
      return { status: err.status, data: err.response.data as Record<string, { code: string }> };
    throw err;
  }
  throw new Error("expected the request to fail");
}

beforeAll(async () => {
  server = await startServer();
  blog = await setupBlog(server);
});
afterAll(() => server.stop());

describe("auth-collection records", () => {
  it("creates a user with password/passwordConfirm; the hash and token key are never returned", async () => {
    const pb = server.sdk();
    const u = await pb.collection("users").create({
      email: "new@example.com",
      password: "new-password-1",
      passwordConfirm: "new-password-1",
      name: "New",
    });
    expect(u).toMatchObject({ verified: false, emailVisibility: false, name: "New" });
    // a guest creator is not the owner: a non-visible e-mail stays hidden, as in PocketBase
    expect(u).not.toHaveProperty("email");
    expect(u).not.toHaveProperty("password");
    expect(u).not.toHaveProperty("tokenKey");
    const row = await server.basalt.app.db.get<{ password: string; tokenKey: string }>(
      'SELECT password, "tokenKey" FROM users WHERE id = ?',
      [u.id],
    );
    expect(row?.password).toMatch(/^\$argon2id\$/);
    expect(row?.tokenKey).toMatch(/^[a-zA-Z0-9]{50}$/);
    const signedIn = await pb.collection("users").authWithPassword("new@example.com", "new-password-1");
    expect(signedIn.record.id).toBe(u.id);
  });

  it("refuses missing or mismatched passwordConfirm, short passwords, duplicate e-mails and a self-set verified", async () => {
    const pb = server.sdk().collection("users");
    expect(
      (await failure(pb.create({ email: "x1@example.com", password: "long-enough-1" }))).data.passwordConfirm
        .code,
    ).toBe("validation_required");
    expect(
      (
        await failure(
          pb.create({ email: "x2@example.com", password: "long-enough-1", passwordConfirm: "other-one-12" }),
        )
      ).data.passwordConfirm.code,
    ).toBe("validation_values_mismatch");
    expect(
      (await failure(pb.create({ email: "x3@example.com", password: "short", passwordConfirm: "short" })))
        .data.password.code,
    ).toBe("validation_min_text_constraint");
    expect(
      (
        await failure(
          pb.create({ email: ALICE.email, password: "long-enough-1", passwordConfirm: "long-enough-1" }),
        )
      ).data.email.code,
    ).toBe("validation_not_unique");
    expect(
      (
        await failure(
          pb.create({
            email: "x4@example.com",
            password: "long-enough-1",
            passwordConfirm: "long-enough-1",
            verified: true,
          }),
        )
      ).data.verified.code,
    ).toBe("validation_values_mismatch");
    const n = await server.basalt.app.db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM users WHERE email LIKE 'x%@example.com'",
    );
    expect(n?.n).toBe(0);
  });

  it("needs oldPassword for a user changing its own password; a superuser does not", async () => {
    const users = blog.alice.collection("users");
    expect(
      (
        await failure(
          users.update(blog.aliceId, { password: "alice-new-pass", passwordConfirm: "alice-new-pass" }),
        )
      ).data.oldPassword.code,
    ).toBe("validation_required");
    expect(
      (
        await failure(
          users.update(blog.aliceId, {
            password: "alice-new-pass",
            passwordConfirm: "alice-new-pass",
            oldPassword: "wrong-password",
          }),
        )
      ).data.oldPassword.code,
    ).toBe("validation_invalid_old_password");
    await users.update(blog.aliceId, {
      password: "alice-new-pass",
      passwordConfirm: "alice-new-pass",
      oldPassword: ALICE.password,
    });
    // the new password revokes the old token
    expect((await failure(blog.alice.collection("users").getOne(blog.aliceId))).status).toBe(404);
    const again = server.sdk();
    await again.collection("users").authWithPassword(ALICE.email, "alice-new-pass");
    await blog.admin
      .collection("users")
      .update(blog.aliceId, { password: ALICE.password, passwordConfirm: ALICE.password });
    const back = server.sdk();
    await back.collection("users").authWithPassword(ALICE.email, ALICE.password);
    blog.alice.authStore.save(back.authStore.token);
  });

  it("hides e-mail unless visible, own, managed or superuser", async () => {
    await blog.admin.collections.update("users", { listRule: "", viewRule: "" });
    const asBob = await blog.bob.collection("users").getOne(blog.aliceId);
    expect(asBob).not.toHaveProperty("email");
    expect((await blog.alice.collection("users").getOne(blog.aliceId)).email).toBe(ALICE.email);
    expect((await blog.admin.collection("users").getOne(blog.aliceId)).email).toBe(ALICE.email);
    await blog.alice.collection("users").update(blog.aliceId, { emailVisibility: true });
    expect((await blog.bob.collection("users").getOne(blog.aliceId)).email).toBe(ALICE.email);
    await blog.alice.collection("users").update(blog.aliceId, { emailVisibility: false });
  });

  it("manageRule lets a manager change e-mail and verified of others", async () => {
    const users = blog.bob.collection("users");
    expect(
      (await failure(blog.alice.collection("users").update(blog.aliceId, { email: "alice2@example.com" })))
        .data.email.code,
    ).toBe("validation_values_mismatch");
    await blog.admin.collections.update("users", {
      updateRule: "id = @request.auth.id || @request.auth.email = 'bob@example.com'",
      manageRule: "@request.auth.email = 'bob@example.com'",
    });
    const managed = await users.update(blog.aliceId, { verified: false, email: "alice2@example.com" });
    expect(managed).toMatchObject({ email: "alice2@example.com", verified: false });
    await users.update(blog.aliceId, { email: ALICE.email });
    // a new e-mail address revokes the account's sessions: Alice signs in again
    await expect(blog.alice.collection("users").authRefresh()).rejects.toMatchObject({ status: 401 });
    await blog.alice.collection("users").authWithPassword(ALICE.email, ALICE.password);
  });

  it("never exposes hidden fields to non-superusers, and keeps them out of writes", async () => {
    const post = await blog.admin
      .collection("posts")
      .create({ title: "With secret", author: blog.aliceId, secretNote: "s3cret", published: true });
    const asAlice = await blog.alice.collection("posts").getOne(post.id);
    expect(asAlice).not.toHaveProperty("secretNote");
    expect((await blog.admin.collection("posts").getOne(post.id)).secretNote).toBe("s3cret");
    await blog.alice.collection("posts").update(post.id, { secretNote: "changed" });
    expect((await blog.admin.collection("posts").getOne(post.id)).secretNote).toBe("s3cret");
  });
});
