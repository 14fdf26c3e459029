import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");

/** The exports of an entry point with whether each has a doc comment. */
function exportsOf(entry: string): { name: string; documented: boolean }[] {
  const file = join(root, entry);
  const program = ts.createProgram([file], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file) as ts.SourceFile;
  const moduleSymbol = checker.getSymbolAtLocation(source) as ts.Symbol;
  return checker.getExportsOfModule(moduleSymbol).map((symbol) => {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const docs = ts.displayPartsToString(target.getDocumentationComment(checker)).trim();
    return { name: symbol.getName(), documented: docs.length > 0 };
  });
}

describe("public surface", () => {
  for (const entry of ["src/index.ts", "src/testing/index.ts"]) {
    it(`every export of ${entry} has a doc comment`, () => {
      const all = exportsOf(entry);
      expect(all.length).toBeGreaterThan(3);
      expect(all.filter((e) => !e.documented).map((e) => e.name)).toEqual([]);
    });
  }

  it("docs/api.md names every export", () => {
    const api = readFileSync(join(root, "docs/api.md"), "utf8");
    const names = [...exportsOf("src/index.ts"), ...exportsOf("src/testing/index.ts")].map((e) => e.name);
    expect(names.filter((n) => !api.includes(`\`${n}\``))).toEqual([]);
  });
});
