/**
 * Reading a registry's answer: the body, never more than a cap (a broken or
 * hostile registry cannot make a resolver buffer gigabytes, compressed or
 * not: the cap counts the decoded bytes), then strict UTF-8 and JSON.
 * @module
 */

/** Why a body could not be used; turned into a `RegistryError` by the caller. */
export class BodyProblem extends Error {
  /** `"too-large"` (over the cap) or `"invalid"` (not UTF-8, not JSON). */
  readonly kind: "too-large" | "invalid";

  constructor(kind: "too-large" | "invalid", message: string) {
    super(message);
    this.kind = kind;
  }
}

/**
 * The whole body, at most `maxBytes`. Refuses at once when `Content-Length`
 * says more, and cancels the stream as soon as the count goes over.
 * Transport errors (a reset mid-body, an abort) reject as the stream does.
 *
 * @throws BodyProblem `"too-large"`.
 */
export async function readBody(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = response.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new BodyProblem("too-large", `body of ${declared} bytes is over maxBodyBytes (${maxBytes})`);
  }
  const stream = response.body;
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyProblem("too-large", `body is over maxBodyBytes (${maxBytes}): ${total} bytes read so far`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/**
 * Up to `maxBytes` of the body as text, for an error message (a registry
 * says why it refused in its body: `"ACL not found"`); the rest is
 * cancelled. Never rejects: an unreadable body is `""`.
 */
export async function bodySnippet(response: Response, maxBytes: number): Promise<string> {
  const stream = response.body;
  if (stream === null) return "";
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } catch {
    // a snippet is best effort
  } finally {
    await reader.cancel().catch(() => {});
  }
  const text = new TextDecoder().decode(Buffer.concat(chunks).subarray(0, maxBytes));
  return text.replace(/\s+/g, " ").trim();
}

const DECODER = new TextDecoder("utf-8", { fatal: true });

/**
 * The JSON value of `bytes` (strict UTF-8; a leading BOM is ignored).
 *
 * @throws BodyProblem `"invalid"`.
 */
export function parseJson(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = DECODER.decode(bytes);
  } catch {
    throw new BodyProblem("invalid", `body of ${bytes.byteLength} bytes is not UTF-8`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // V8's message quotes the text around the error: keep it short.
    const why = (error as Error).message.split("\n")[0]?.slice(0, 120) ?? "";
    throw new BodyProblem("invalid", `body of ${bytes.byteLength} bytes is not JSON (${why})`);
  }
}
