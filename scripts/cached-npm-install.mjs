// Installs one package from the npm registry into a folder of its own under a
// cache directory, once: later calls find it there and download nothing. Used
// for the tools the tests run but the project does not depend on: the other
// Node versions the suite runs under (the registry's node-<os>-<cpu> packages
// hold the official binaries) and the newest TypeScript that consumers get.
//
// The install goes to a temporary folder that is renamed into place when npm
// has finished, so an interrupted download never leaves a half-filled folder
// that a later run would take for a complete one.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

/** Where cached installs go unless SWITCHYARD_TOOL_CACHE says otherwise. */
export const DEFAULT_CACHE = resolve(import.meta.dirname, "../node_modules/.cache/switchyard");

export function cacheDir() {
  return resolve(process.env.SWITCHYARD_TOOL_CACHE || DEFAULT_CACHE);
}

/** The environment for an npm child: without the npm_* variables of an enclosing `npm test`. */
export function cleanNpmEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && value !== undefined) env[key] = value;
  }
  return { ...env, ...extra };
}

/**
 * `npm install <name>@<range>` into `<cache>/<folder>`, unless that folder is
 * already there. Returns the installed package's own folder
 * (`<cache>/<folder>/node_modules/<name>`).
 */
export function cachedInstall(name, range, folder = `${name.replace(/\W+/g, "-")}-${range}`) {
  const dir = join(cacheDir(), folder);
  const pkgDir = join(dir, "node_modules", name);
  if (existsSync(join(pkgDir, "package.json"))) return pkgDir;
  mkdirSync(cacheDir(), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp);
  try {
    process.stderr.write(`installing ${name}@${range} into ${dir}\n`);
    execFileSync(
      "npm",
      [
        "install",
        "--prefix",
        tmp,
        "--no-save",
        "--no-package-lock",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        `${name}@${range}`,
      ],
      { stdio: ["ignore", "ignore", "inherit"], env: cleanNpmEnv() },
    );
    if (!existsSync(join(tmp, "node_modules", name, "package.json"))) {
      throw new Error(`npm install ${name}@${range} left no node_modules/${name}`);
    }
    try {
      renameSync(tmp, dir);
    } catch (error) {
      // Another process finished the same install first: use its copy.
      if (!existsSync(join(pkgDir, "package.json"))) throw error;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return pkgDir;
}
