import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, posix, resolve } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { cleanNpmEnv } from "../../scripts/cached-npm-install.mjs";

// What `npm pack` puts in the tarball, and whether the README and the docs it
// ships link only to files that are in it (the package page on the registry
// and a copy in node_modules have nothing else).

const root = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

/** The link targets of a Markdown text: inline `[text](target)` and reference `[label]: target`, code left out. */
function markdownLinks(markdown: string): string[] {
  const text = markdown.replace(/^```[\s\S]*?^```$/gm, "").replace(/`[^`\n]*`/g, "");
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] as string);
  const reference = [...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1] as string);
  return [...inline, ...reference];
}

/** A link that points into the package itself (not a URL, not an anchor of the same page). */
function isRelative(target: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith("#") && !target.startsWith("//");
}

describe("the packed tarball", () => {
  let files: string[];

  beforeAll(async () => {
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
      cwd: root,
      env: cleanNpmEnv(),
      timeout: 60_000,
    });
    files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  }, 60_000);

  it("finds the links of a Markdown text, inline and by reference, outside code", () => {
    expect(
      markdownLinks(
        '[a](docs/a.md) ![img](img/x.png "title") [b](https://x.test/) `[c](not/a/link.md)`\n' +
          "```md\n[d](in/a/fence.md)\n```\n[e]: <docs/e.md>\n[f](#anchor) [g](docs/g.md#part)\n",
      ),
    ).toEqual(["docs/a.md", "img/x.png", "https://x.test/", "#anchor", "docs/g.md#part", "docs/e.md"]);
  });

  it("ships the docs the README links to", () => {
    expect(files).toContain("README.md");
    expect(files).toContain("docs/api.md");
    expect(files.filter((f) => f.startsWith("docs/")).length).toBeGreaterThanOrEqual(5);
  });

  it("every relative link in README.md and in the shipped Markdown files resolves to a file in the tarball", () => {
    const broken: string[] = [];
    let checked = 0;
    for (const file of files.filter((f) => f.endsWith(".md"))) {
      for (const target of markdownLinks(readFileSync(join(root, file), "utf8")).filter(isRelative)) {
        const path = decodeURIComponent(target.replace(/[#?].*$/, ""));
        const resolved = posix.normalize(posix.join(posix.dirname(file), path));
        checked++;
        if (!files.includes(resolved)) broken.push(`${file}: ${target} (${resolved} is not in the tarball)`);
      }
    }
    expect(broken).toEqual([]);
    // README.md alone links to the docs and the quick-start samples.
    const fromReadme = markdownLinks(readFileSync(join(root, "README.md"), "utf8")).filter(isRelative);
    expect(fromReadme.length).toBeGreaterThanOrEqual(5);
    expect(checked).toBeGreaterThan(fromReadme.length);
  });
});
