/**
 * A loader that imports a package the first time a feature needs it, and then hands back the same module.
 * The optional parts of Basalt (S3, tracing, metrics, GraphQL, SMTP, thumbnails, PostgreSQL, Redis, hook
 * compiling) are loaded this way for start-up memory (issue 19): importing them all eagerly cost an idle
 * instance about 100 MB of RSS whether it used them or not. A package that cannot be loaded fails the call
 * that needed it with an error naming the package and the feature (and the next call tries again).
 *
 * @example
 * const loadSharp = lazyImport("sharp", "image thumbnails", () => import("sharp"));
 * const sharp = (await loadSharp()).default;
 */
export function lazyImport<T>(name: string, feature: string, load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((err: unknown) => {
      loading = undefined;
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(
        `the package "${name}", needed for ${feature}, could not be loaded (reinstall Basalt's dependencies): ${reason}`,
        { cause: err },
      );
    });
    return loading;
  };
}
