import type { RegistryErrorContext } from "./error.js";
import { RegistryError } from "./error.js";
import type { RegistryStream } from "./http.js";

/**
 * Reads a streamed body as JSON values, one per line: the framing of a
 * Kubernetes watch (the API server writes each event as one JSON object
 * and a newline). Lines may arrive split across chunks or many to a chunk;
 * blank lines are skipped, a trailing `\r` is ignored, and a last line
 * without a newline is read at the end of the stream. Strict UTF-8.
 *
 * `buffered` tells whether a complete line is already here, so a reader
 * can apply a burst of events together before it publishes.
 */
export class JsonLines {
  readonly #stream: RegistryStream;
  readonly #maxLineChars: number;
  readonly #context: RegistryErrorContext;
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });
  /** Complete lines not yet returned, from `#next` on. */
  #lines: string[] = [];
  #next = 0;
  /** The start of a line whose end has not come yet. */
  #partial = "";
  #ended = false;

  /**
   * @param maxLineChars longest line accepted (one event), in characters:
   * a longer one fails as `ERR_REGISTRY_TOO_LARGE`.
   */
  constructor(stream: RegistryStream, maxLineChars: number, context: RegistryErrorContext) {
    this.#stream = stream;
    this.#maxLineChars = maxLineChars;
    this.#context = context;
  }

  /** True when a complete line is here: `next()` answers without reading the network. */
  get buffered(): boolean {
    return this.#next < this.#lines.length;
  }

  /**
   * The next value, or `undefined` at the end of the stream.
   *
   * @throws RegistryError `ERR_REGISTRY_BODY` for a line that is not JSON
   * or bytes that are not UTF-8, `ERR_REGISTRY_TOO_LARGE` for a line over
   * the cap, and whatever the stream's `read()` rejects with.
   */
  async next(): Promise<unknown> {
    for (;;) {
      while (this.#next < this.#lines.length) {
        const line = this.#lines[this.#next++] as string;
        if (line.trim() !== "") return this.#parse(line);
      }
      if (this.#ended) return undefined;
      const chunk = await this.#stream.read();
      this.#take(chunk);
    }
  }

  /** Splits `chunk` (or, at the end, what is left) into lines. */
  #take(chunk: Uint8Array | undefined): void {
    let text: string;
    try {
      text = chunk === undefined ? this.#decoder.decode() : this.#decoder.decode(chunk, { stream: true });
    } catch {
      throw new RegistryError("ERR_REGISTRY_BODY", this.#context, "the watch stream is not UTF-8");
    }
    if (chunk === undefined) this.#ended = true;
    const parts = (this.#partial + text).split("\n");
    this.#partial = this.#ended ? "" : (parts.pop() as string);
    if (this.#partial.length > this.#maxLineChars) {
      throw new RegistryError(
        "ERR_REGISTRY_TOO_LARGE",
        this.#context,
        `a line of the watch stream is over maxBodyBytes (${this.#maxLineChars}): ${this.#partial.length} characters read so far`,
      );
    }
    this.#lines = parts;
    this.#next = 0;
  }

  #parse(line: string): unknown {
    if (line.length > this.#maxLineChars) {
      throw new RegistryError(
        "ERR_REGISTRY_TOO_LARGE",
        this.#context,
        `a line of ${line.length} characters in the watch stream is over maxBodyBytes (${this.#maxLineChars})`,
      );
    }
    try {
      return JSON.parse(line.endsWith("\r") ? line.slice(0, -1) : line);
    } catch (error) {
      const why = (error as Error).message.split("\n")[0]?.slice(0, 120) ?? "";
      throw new RegistryError(
        "ERR_REGISTRY_BODY",
        this.#context,
        `a line of ${line.length} characters in the watch stream is not JSON (${why})`,
      );
    }
  }
}
