import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");
const docs = join(root, "docs");
const out = join(root, "node_modules", ".doc-samples");

/** Every ```ts block of docs/*.md, with imports of the package pointed at src/. */
function samples(): { name: string; code: string }[] {
  const found: { name: string; code: string }[] = [];
  for (const file of readdirSync(docs).filter((f) => f.endsWith(".md"))) {
    const text = readFileSync(join(docs, file), "utf8");
    let i = 0;
    for (const match of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
      const code = (match[1] as string)
        .replaceAll('from "switchyard/testing"', `from "${join(root, "src/testing/index.js")}"`)
        .replaceAll('from "switchyard"', `from "${join(root, "src/index.js")}"`);
      found.push({ name: `${file.replace(/\.md$/, "")}-${++i}.ts`, code: `${code}\nexport {};\n` });
    }
  }
  return found;
}

describe("docs", () => {
  it("every TypeScript sample in docs/ compiles against the public API", () => {
    const all = samples();
    expect(all.length).toBeGreaterThan(5);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const files = all.map((s) => {
      const path = join(out, s.name);
      writeFileSync(path, s.code);
      return path;
    });
    let diagnostics: string[];
    try {
      const program = ts.createProgram(files, {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ["node"],
        lib: ["lib.es2022.d.ts", "lib.esnext.disposable.d.ts"],
      });
      diagnostics = ts
        .getPreEmitDiagnostics(program)
        .filter((d) => d.file === undefined || d.file.fileName.startsWith(out))
        .map((d) => {
          const where = d.file
            ? `${d.file.fileName.slice(out.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
            : "";
          return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
        });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    expect(diagnostics).toEqual([]);
  }, 60_000);
});
