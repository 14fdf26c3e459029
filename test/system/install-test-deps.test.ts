/**
 * scripts/install-test-deps.sh, run with a fake apt-get, sudo and id on
 * PATH: it installs what the system tests need and is missing (Debian's
 * `dnsmasq-base` for test/system/dnsmasq.test.ts, `etcd-server` for
 * test/system/etcd.test.ts) in one apt-get run, through sudo when not root;
 * skips what is installed or whose tests are skipped
 * (SWITCHYARD_SKIP_DNSMASQ=1, SWITCHYARD_SKIP_ETCD=1); and says what to do
 * without apt-get. Runs whether or not the real binaries are installed.
 */
import { spawnSync } from "node:child_process";
import { accessSync, chmodSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

type Tool = "dnsmasq" | "etcd";

/** Runs the install script with a fake apt-get, sudo and id on PATH; returns what they were asked, in order. */
function runInstallScript(options: {
  installed: readonly Tool[];
  aptGet?: boolean;
  root?: boolean;
  env?: Record<string, string>;
}) {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-install-"));
  try {
    const log = join(dir, "log");
    const bin = join(dir, "bin");
    const tool = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    mkdirSync(bin);
    tool("id", `echo ${options.root === true ? 0 : 1000}`);
    tool("sudo", `echo "sudo $*" >> "${log}"\nwhile [ "\${1#-}" != "$1" ]; do shift; done\nexec "$@"`);
    if (options.aptGet !== false) tool("apt-get", `echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> "${log}"`);
    for (const name of options.installed) tool(name, "exit 0");
    // This machine may have the real binaries in /usr/sbin or /sbin: the script's lookup is made to miss them.
    const hide = join(dir, "hide-tools.sh");
    writeFileSync(
      hide,
      `command() { if [ "$1" = -v ] && { [ "$2" = dnsmasq ] || [ "$2" = etcd ]; } && [ ! -x "${bin}/$2" ]; then return 1; fi; builtin command "$@"; }\n`,
    );
    const run = spawnSync(BASH as string, [resolve(import.meta.dirname, "../../scripts/install-test-deps.sh")], {
      env: { PATH: bin, BASH_ENV: hide, ...options.env },
      encoding: "utf8",
    });
    let asked: string[] = [];
    try {
      asked = readFileSync(log, "utf8").trim().split("\n");
    } catch {}
    return { status: run.status, stderr: run.stderr, asked };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const BASH = ["/bin/bash", "/usr/bin/bash"].find((path) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

const apt = (packages: string) => [
  "sudo --preserve-env=DEBIAN_FRONTEND apt-get update",
  "apt-get update DEBIAN_FRONTEND=noninteractive",
  `sudo --preserve-env=DEBIAN_FRONTEND apt-get install -y --no-install-recommends ${packages}`,
  `apt-get install -y --no-install-recommends ${packages} DEBIAN_FRONTEND=noninteractive`,
];

describe.skipIf(BASH === undefined)("scripts/install-test-deps.sh", () => {
  it("installs dnsmasq-base (the binary, no system service) and etcd-server with one apt-get run, through sudo when not root", () => {
    expect(runInstallScript({ installed: [] })).toEqual({
      status: 0,
      stderr: "",
      asked: apt("dnsmasq-base etcd-server"),
    });
    expect(runInstallScript({ installed: [], root: true }).asked).toEqual([
      "apt-get update DEBIAN_FRONTEND=noninteractive",
      "apt-get install -y --no-install-recommends dnsmasq-base etcd-server DEBIAN_FRONTEND=noninteractive",
    ]);
  });

  it("installs only what is missing, and nothing when both are there", () => {
    expect(runInstallScript({ installed: ["etcd"] }).asked).toEqual(apt("dnsmasq-base"));
    expect(runInstallScript({ installed: ["dnsmasq"] }).asked).toEqual(apt("etcd-server"));
    expect(runInstallScript({ installed: ["dnsmasq", "etcd"] })).toEqual({ status: 0, stderr: "", asked: [] });
  });

  it("skips what the skip variables say the tests will not need", () => {
    expect(runInstallScript({ installed: [], env: { SWITCHYARD_SKIP_ETCD: "1" } }).asked).toEqual(apt("dnsmasq-base"));
    expect(runInstallScript({ installed: [], env: { SWITCHYARD_SKIP_DNSMASQ: "1" } }).asked).toEqual(
      apt("etcd-server"),
    );
    expect(
      runInstallScript({ installed: [], env: { SWITCHYARD_SKIP_DNSMASQ: "1", SWITCHYARD_SKIP_ETCD: "1" } }),
    ).toEqual({ status: 0, stderr: "", asked: [] });
  });

  it("without apt-get it says what to install, or which variable skips it", () => {
    expect(runInstallScript({ installed: [], aptGet: false })).toEqual({
      status: 1,
      stderr:
        "apt-get is not available: install dnsmasq (or set SWITCHYARD_SKIP_DNSMASQ=1) and etcd (or set SWITCHYARD_SKIP_ETCD=1)\n",
      asked: [],
    });
    expect(runInstallScript({ installed: ["dnsmasq"], aptGet: false })).toEqual({
      status: 1,
      stderr: "apt-get is not available: install etcd (or set SWITCHYARD_SKIP_ETCD=1)\n",
      asked: [],
    });
  });
});
