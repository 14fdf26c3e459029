import { InvalidConfigError, show } from "../../errors.js";

/** Query parameters whose values are shown as `redacted` in errors. */
const SECRET_PARAM = /token|secret|password|passwd|key|auth|sig|credential|session/i;
/** Headers whose values are not secrets (every other header value given is redacted from messages). */
const PLAIN_HEADERS = new Set(["accept", "accept-encoding", "accept-language", "content-type", "user-agent"]);
/** Shorter values are not redacted: they would mangle messages and give nothing away. */
const MIN_SECRET = 4;
const REDACTED = "<redacted>";

/**
 * The credentials of a registry's requests and their redaction: headers
 * (`X-Consul-Token`, `Kong-Admin-Token`, `Authorization`...) go on every
 * request and nowhere else; `redact()` takes every secret value out of text
 * that is about to become an error message; `urlText()` shows a URL without
 * its user info and with secret-looking query values redacted.
 *
 * Secret values live in private fields only: an error, an event, a
 * snapshot or `util.inspect()` of a resolver never holds them.
 */
export class Credentials {
  readonly #headers: [string, string][];
  #secrets: readonly string[];

  /**
   * @param headers the user's `headers` option (validated here).
   * @param token a token and the header it goes in (`["X-Consul-Token", token]`), if given.
   * @param userInfo user and password taken from a base URL (sent as Basic auth unless `Authorization` is given).
   * @throws InvalidConfigError naming `headers` or `token`.
   */
  constructor(headers: unknown, token?: { header: string; value: unknown }, userInfo?: readonly string[]) {
    const list: [string, string][] = [];
    const secrets = new Set<string>();
    if (headers !== undefined) {
      if (headers === null || typeof headers !== "object" || Array.isArray(headers)) {
        throw new InvalidConfigError(
          "headers",
          `must be an object of header names to string values, got ${show(headers)}`,
        );
      }
      for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
        if (typeof value !== "string" || !validHeader(name, value)) {
          throw new InvalidConfigError(
            "headers",
            `header ${show(name)} must be a valid HTTP header with a string value`,
          );
        }
        list.push([name, value]);
        if (!PLAIN_HEADERS.has(name.toLowerCase())) secrets.add(value);
      }
    }
    if (token?.value !== undefined) {
      const value = token.value;
      if (typeof value !== "string" || value === "" || !validHeader(token.header, value)) {
        throw new InvalidConfigError("token", "must be a non-empty string that can go in an HTTP header");
      }
      list.push([token.header, value]);
      secrets.add(value);
    }
    const [user, password] = userInfo ?? [];
    if ((user ?? "") !== "" || (password ?? "") !== "") {
      if (!list.some(([name]) => name.toLowerCase() === "authorization")) {
        const basic = Buffer.from(`${user ?? ""}:${password ?? ""}`).toString("base64");
        list.push(["Authorization", `Basic ${basic}`]);
        secrets.add(`Basic ${basic}`);
        secrets.add(basic);
      }
      for (const part of [user, password]) {
        if (part !== undefined && part !== "") {
          secrets.add(part);
          secrets.add(safeDecode(part));
        }
      }
    }
    this.#headers = list;
    // Longest first, so a secret that contains another is redacted whole.
    this.#secrets = [...secrets].filter((s) => s.length >= MIN_SECRET).sort((a, b) => b.length - a.length);
  }

  /** The request headers: the credentials and the user's headers, then `accept: application/json` unless given. */
  headers(): Headers {
    const h = new Headers();
    for (const [name, value] of this.#headers) h.set(name, value);
    if (!h.has("accept")) h.set("accept", "application/json");
    return h;
  }

  /**
   * Sets `Authorization: Bearer <token>`, replacing the one set before: a
   * token read from a file that is rotated while the process runs
   * (Kubernetes' projected service-account tokens). Every token set stays
   * a secret: old ones are still redacted from messages.
   *
   * @throws InvalidConfigError naming `option` when the token cannot go in a header.
   */
  bearer(token: string, option = "token"): void {
    const value = `Bearer ${token}`;
    if (token === "" || !validHeader("authorization", value)) {
      throw new InvalidConfigError(option, "must be a non-empty string that can go in an HTTP header");
    }
    const at = this.#headers.findIndex(([name]) => name.toLowerCase() === "authorization");
    if (at === -1) this.#headers.push(["Authorization", value]);
    else this.#headers[at] = ["Authorization", value];
    const secrets = new Set(this.#secrets);
    secrets.add(value);
    if (token.length >= MIN_SECRET) secrets.add(token);
    this.#secrets = [...secrets].sort((a, b) => b.length - a.length);
  }

  /** `text` with every secret value replaced by `<redacted>`. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  /** `url` as errors show it: no user info, secret-looking query values and any secret value redacted. */
  urlText(url: URL): string {
    const shown = new URL(url.href);
    shown.username = "";
    shown.password = "";
    for (const name of [...new Set(shown.searchParams.keys())]) {
      if (SECRET_PARAM.test(name)) shown.searchParams.set(name, "redacted");
    }
    return this.redact(shown.href);
  }
}

/**
 * Parses a registry base URL (`http://127.0.0.1:8500`, `https://kong:8444/admin`):
 * http or https only, no fragment, and no query unless `exact` (a URL asked
 * as it is, not a base to add paths to). Returns the URL without user info
 * (a base URL ending in `/`), and the user info (percent-decoded) apart.
 *
 * @throws InvalidConfigError naming `option`.
 */
export function parseBaseUrl(value: unknown, option: string, exact = false): { url: URL; userInfo: [string, string] } {
  if (typeof value !== "string" || value.trim() === "") {
    throw new InvalidConfigError(option, `must be an http or https URL, got ${show(value)}`);
  }
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new InvalidConfigError(option, 'must be an http or https URL (e.g. "http://127.0.0.1:8500")');
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidConfigError(option, `must be an http or https URL, got scheme "${url.protocol.slice(0, -1)}"`);
  }
  if (url.hash !== "" || (!exact && url.search !== "")) {
    throw new InvalidConfigError(
      option,
      exact ? "must not have a fragment" : "must not have a query or fragment: give the registry's base URL",
    );
  }
  const userInfo: [string, string] = [safeDecode(url.username), safeDecode(url.password)];
  url.username = "";
  url.password = "";
  if (!exact && !url.pathname.endsWith("/")) url.pathname = `${url.pathname}/`;
  return { url, userInfo };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A header name the fetch API accepts, and a value without line breaks or NUL. */
function validHeader(name: string, value: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: CR, LF and NUL are what makes a header value invalid
  return TOKEN.test(name) && !/[\r\n\u0000]/.test(value) && /^[\u0000-\u00ff]*$/.test(value);
}
