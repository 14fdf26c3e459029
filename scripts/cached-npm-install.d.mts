/** Where cached installs go unless SWITCHYARD_TOOL_CACHE says otherwise. */
export declare const DEFAULT_CACHE: string;
/** The cache folder in force: SWITCHYARD_TOOL_CACHE, or DEFAULT_CACHE. */
export declare function cacheDir(): string;
/** The environment for an npm child: without the npm_* variables of an enclosing `npm test`. */
export declare function cleanNpmEnv(extra?: Record<string, string>): Record<string, string>;
/**
 * `npm install <name>@<range>` into `<cache>/<folder>`, unless that folder is
 * already there. Returns the installed package's own folder.
 */
export declare function cachedInstall(name: string, range: string, folder?: string): string;
