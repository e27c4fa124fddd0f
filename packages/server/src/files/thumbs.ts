import { Readable } from "node:stream";
import { lazyImport } from "../util/index.js";
import { THUMB_SIZE_RE } from "./file-names.js";
import { baseMime } from "./sniff.js";
import type { Storage } from "./storage.js";

// sharp (and libvips) is loaded with the first thumbnail, not at start-up (issue 19: memory)
const loadSharp = lazyImport("sharp", "image thumbnails", () => import("sharp"));

/** The thumb size every file field offers besides its own (PocketBase's default). */
export const DEFAULT_THUMBS = ["100x100"];

/** Source types that get thumbnails; anything else is served as is. */
const THUMBABLE = new Set(["image/png", "image/jpg", "image/jpeg", "image/gif", "image/webp", "image/avif"]);

/** Decompression-bomb guard: the most pixels a source (or a thumb) may have (about 7000×7000). */
export const MAX_THUMB_PIXELS = 50_000_000;

/** How many thumbnails one process renders at once (libvips uses threads of its own). */
const MAX_CONCURRENT = 2;

/** Whether a file of this type, with this field's thumbs, has the asked size; the size's parts if so. */
export function thumbSpec(
  size: string | undefined,
  contentType: string,
  fieldThumbs: readonly string[] | null | undefined,
): { width: number; height: number; mode: string } | null {
  if (!size || !THUMBABLE.has(baseMime(contentType))) return null;
  if (!DEFAULT_THUMBS.includes(size) && !(fieldThumbs ?? []).includes(size)) return null;
  const m = THUMB_SIZE_RE.exec(size);
  if (!m) return null;
  const width = Number(m[1]);
  const height = Number(m[2]);
  if ((width === 0 && height === 0) || width * height > MAX_THUMB_PIXELS) return null;
  return { width, height, mode: m[3] ?? "" };
}

/**
 * Renders thumbnails once and keeps them in storage beside the original (`thumbs_<name>/<size>_<name>`).
 * Concurrent first requests for one thumb share one rendering; at most two render at a time; a source over
 * {@link MAX_THUMB_PIXELS} or that fails to decode gets no thumb (the original is served instead).
 */
export class Thumbnailer {
  private readonly inflight = new Map<string, Promise<boolean>>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  /** Makes sure `thumbKey` exists (rendering it from `sourceKey` if needed); false when it cannot be made. */
  ensure(
    storage: Storage,
    sourceKey: string,
    thumbKey: string,
    spec: { width: number; height: number; mode: string },
  ): Promise<boolean> {
    let p = this.inflight.get(thumbKey);
    if (!p) {
      p = this.render(storage, sourceKey, thumbKey, spec).finally(() => this.inflight.delete(thumbKey));
      this.inflight.set(thumbKey, p);
    }
    return p;
  }

  private async render(
    storage: Storage,
    sourceKey: string,
    thumbKey: string,
    spec: { width: number; height: number; mode: string },
  ): Promise<boolean> {
    if (await storage.exists(thumbKey)) return true;
    await this.slot();
    try {
      const source = await storage.get(sourceKey);
      if (!source) return false;
      const type = baseMime(source.info.contentType);
      let sharp: typeof import("sharp")["default"];
      try {
        sharp = (await loadSharp()).default;
      } catch (err) {
        source.stream.destroy();
        throw err;
      }
      const input = sharp({ limitInputPixels: MAX_THUMB_PIXELS, sequentialRead: true, animated: false });
      let pipeline = source.stream.pipe(input).rotate();
      if (spec.width === 0) pipeline = pipeline.resize({ height: spec.height });
      else if (spec.height === 0) pipeline = pipeline.resize({ width: spec.width });
      else if (spec.mode === "f") pipeline = pipeline.resize(spec.width, spec.height, { fit: "inside" });
      else {
        const position = spec.mode === "t" ? "top" : spec.mode === "b" ? "bottom" : "centre";
        pipeline = pipeline.resize(spec.width, spec.height, { fit: "cover", position });
      }
      let outType = type;
      if (type === "image/jpeg" || type === "image/jpg") pipeline = pipeline.jpeg({ quality: 85 });
      else if (type === "image/webp") pipeline = pipeline.webp({ quality: 85 });
      else if (type === "image/avif") pipeline = pipeline.avif({ quality: 60, effort: 2 });
      else {
        pipeline = pipeline.png();
        outType = "image/png";
      }
      let bytes: Buffer;
      try {
        bytes = await pipeline.toBuffer();
      } catch {
        source.stream.destroy();
        return false; // not an image after all, too many pixels, or corrupt: the original is served
      }
      await storage.put(thumbKey, Readable.from([bytes]), { contentType: outType, size: bytes.length });
      return true;
    } finally {
      this.release();
    }
  }

  private async slot(): Promise<void> {
    if (this.running < MAX_CONCURRENT) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
