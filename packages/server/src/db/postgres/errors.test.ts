import { describe, expect, it } from "vitest";
import {
  ConstraintViolationError,
  DbError,
  DbStatementError,
  DbUnavailableError,
  UniqueViolationError,
} from "../errors.js";
import { translatePostgresError, uniqueColumns } from "./errors.js";

const pgError = (code: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`error ${code}`), { code, ...extra });

describe("uniqueColumns", () => {
  it("reads the key columns of a 23505 detail, through lower() and casts", () => {
    expect(uniqueColumns("Key (email)=(a@b.c) already exists.")).toEqual(["email"]);
    expect(uniqueColumns('Key (title, "Slug")=(a, b) already exists.')).toEqual(["title", "Slug"]);
    expect(uniqueColumns("Key (lower((email)::text))=(a@b.c) already exists.")).toEqual(["email"]);
    expect(uniqueColumns(undefined)).toEqual([]);
  });
});

describe("translatePostgresError", () => {
  it("maps SQLSTATE classes to db/'s errors", () => {
    const unique = translatePostgresError(
      pgError("23505", { table: "posts", detail: "Key (slug)=(x) already exists." }),
    );
    expect(unique).toBeInstanceOf(UniqueViolationError);
    expect(unique).toMatchObject({ table: "posts", columns: ["slug"] });
    for (const code of ["23503", "23502", "23514"]) {
      expect(translatePostgresError(pgError(code))).toBeInstanceOf(ConstraintViolationError);
    }
    for (const code of ["57P01", "08006", "08001", "53300", "57014", "3D000", "28P01"]) {
      expect(translatePostgresError(pgError(code))).toBeInstanceOf(DbUnavailableError);
    }
    for (const code of ["42601", "42P01", "42703", "22P02"]) {
      expect(translatePostgresError(pgError(code))).toBeInstanceOf(DbStatementError);
    }
    expect(translatePostgresError(pgError("XX000"))).toBeInstanceOf(DbError);
  });

  it("treats network failures as unavailable and leaves other errors alone", () => {
    expect(translatePostgresError(pgError("ECONNREFUSED"))).toBeInstanceOf(DbUnavailableError);
    expect(translatePostgresError(new Error("Connection terminated unexpectedly"))).toBeInstanceOf(
      DbUnavailableError,
    );
    const plain = new TypeError("boom");
    expect(translatePostgresError(plain)).toBe(plain);
  });
});
