#!/usr/bin/env node
// Adds lockfile entries for platform-specific optional packages that the npm
// registry mirror on our build machines does not carry (the android, darwin,
// win32, musl, ... builds of @rollup/rollup-* and @biomejs/cli-*). Without them
// `npm install` writes a lockfile that `npm ci` rejects as out of sync
// ("Missing: @rollup/rollup-android-arm64@4.68.7 from lock file").
//
// Each added entry records the exact version its parent asks for and the
// os/cpu/libc spelled by the package name (`<prefix>-<os>-<cpu>[-<abi>]`, the
// convention both projects publish under), so `npm ci` skips it by platform
// without fetching anything. Run it whenever `npm install` rewrites the lock:
//
//   npm install && node scripts/fill-lock-platforms.mjs && npm ci
import { readFileSync, writeFileSync } from "node:fs";

const OSES = new Set([
  "aix",
  "android",
  "darwin",
  "freebsd",
  "linux",
  "netbsd",
  "openbsd",
  "openharmony",
  "sunos",
  "win32",
]);
const CPUS = new Set(["arm", "arm64", "ia32", "loong64", "ppc64", "riscv64", "s390x", "x64"]);

/** os/cpu/libc from a platform package name, or undefined if it is not one. */
function platformOf(name) {
  const parts = name.split("/").pop().split("-");
  const at = parts.findIndex((part, i) => OSES.has(part) && CPUS.has(parts[i + 1] ?? ""));
  if (at < 0) return undefined;
  const abi = parts[at + 2];
  const libc = parts[at] !== "linux" || abi === undefined ? undefined : abi === "musl" ? ["musl"] : ["glibc"];
  return { os: [parts[at]], cpu: [parts[at + 1]], libc };
}

const lockPath = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, "utf8"));
const here = { os: process.platform, cpu: process.arch };

const added = [];
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key] || lock.packages[`${path}/${key}`]) continue;
    const platform = platformOf(name);
    if (!platform || !/^\d+\.\d+\.\d+$/.test(version)) {
      throw new Error(`${name}@${version} is missing from the lock and is not an exact platform package`);
    }
    if (platform.os[0] === here.os && platform.cpu[0] === here.cpu && platform.libc?.[0] !== "musl") {
      throw new Error(`${name}@${version} is this machine's own build: install it, do not fill it`);
    }
    lock.packages[key] = {
      version,
      cpu: platform.cpu,
      ...(entry.dev ? { dev: true } : {}),
      ...(platform.libc ? { libc: platform.libc } : {}),
      optional: true,
      os: platform.os,
    };
    added.push(`${name}@${version}`);
  }
}

lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length ? `added ${added.length}: ${added.join(" ")}` : "nothing to add");
