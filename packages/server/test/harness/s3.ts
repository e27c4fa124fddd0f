import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
import type { S3Config } from "../../src/files/index.js";

/** A local S3-compatible server (s3rver) on loopback with one empty bucket, for the S3 driver's tests. */
export interface TestS3 {
  readonly config: S3Config;
  stop(): Promise<void>;
}

/** Starts s3rver on 127.0.0.1 (a free port) with the bucket `bucket`, its data in a temporary folder. */
export async function startS3(bucket = "basalt"): Promise<TestS3> {
  const dir = mkdtempSync(join(tmpdir(), "basalt-s3-"));
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const address = (await server.run()) as AddressInfo;
  return {
    config: {
      enabled: true,
      bucket,
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${address.port}`,
      accessKey: "S3RVER",
      secret: "S3RVER",
      forcePathStyle: true,
    },
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
