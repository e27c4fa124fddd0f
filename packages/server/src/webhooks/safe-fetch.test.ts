import { describe, expect, it } from "vitest";
import { blockedAddressReason } from "./safe-fetch.js";

describe("blockedAddressReason", () => {
  it("refuses loopback, private, link-local and mapped forms by default", () => {
    for (const ip of [
      "127.0.0.1",
      "::1",
      "10.1.2.3",
      "172.20.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "fd00:ec2::254",
      "fe80::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "0.0.0.0",
      "100.64.0.1",
    ]) {
      expect(blockedAddressReason(ip, []), ip).not.toBeNull();
    }
    for (const ip of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
      expect(blockedAddressReason(ip, []), ip).toBeNull();
  });

  it("lets a setting allow loopback or private ranges, never metadata", () => {
    expect(blockedAddressReason("127.0.0.1", ["loopback"])).toBeNull();
    expect(blockedAddressReason("10.0.0.1", ["loopback"])).not.toBeNull();
    expect(blockedAddressReason("10.0.0.1", ["private"])).toBeNull();
    expect(blockedAddressReason("169.254.169.254", ["loopback", "private"])).toContain("link-local");
  });
});
