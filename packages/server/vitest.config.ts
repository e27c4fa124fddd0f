import { randomBytes } from "node:crypto";
import { configDefaults, defineConfig } from "vitest/config";
import { selectStores } from "./test/harness/dialects.js";

// One suite, two stores (issue 6): everything runs in the "sqlite" project (the rule tests loop over the
// stores themselves); the API tests run once more in the "postgres" project, each server on a throwaway
// database. BASALT_TEST_DIALECTS picks the stores (default both); PostgreSQL that cannot be reached is
// skipped with a message outside CI and fails the run under CI=true.
export default defineConfig(async () => {
  const stores = await selectStores();
  const dialects = stores.join(",");
  // vitest loads this file more than once: decide (and warn) once
  process.env.BASALT_TEST_DIALECTS = dialects;
  // the global setup (this process) and the test workers name the run's databases alike
  const run = process.env.BASALT_TEST_RUN ?? randomBytes(3).toString("hex");
  process.env.BASALT_TEST_RUN = run;
  const projects = [];
  projects.push({
    extends: true as const,
    test: {
      // unit, rule and CLI tests always run here; the API tests only when SQLite is selected
      name: "sqlite",
      include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      exclude: [...configDefaults.exclude, ...(stores.includes("sqlite") ? [] : ["test/api/**"])],
      env: { BASALT_TEST_STORE: "sqlite", BASALT_TEST_DIALECTS: dialects, BASALT_TEST_RUN: run },
    },
  });
  if (stores.includes("postgres")) {
    projects.push({
      extends: true as const,
      test: {
        name: "postgres",
        include: ["test/api/**/*.test.ts"],
        globalSetup: ["test/harness/postgres-setup.ts"],
        env: { BASALT_TEST_STORE: "postgres", BASALT_TEST_DIALECTS: dialects, BASALT_TEST_RUN: run },
      },
    });
  }
  return {
    test: {
      testTimeout: 30_000,
      hookTimeout: 30_000,
      pool: "forks",
      // graphql-sse runs through Vite like the sources, so both load the same copy of graphql (Vite picks its
      // ESM build; Node's own loader would give graphql-sse the CommonJS one and two copies would clash)
      server: { deps: { inline: ["graphql-sse"] } },
      reporters: ["default"],
      projects,
    },
  };
});
