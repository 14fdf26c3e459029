import { BodyProblem } from "./body.js";

const NEWLINE = 10;

/**
 * Reads a streamed body of newline-delimited messages (etcd's and
 * grpc-gateway's streams: one JSON object per line) and hands each
 * non-blank line to `onLine` as it completes, as bytes without the newline;
 * a last line without a newline counts when the stream ends. `onLine`
 * returning `false` stops the reading (the rest of the stream is
 * cancelled). Resolves when the stream ends or is stopped; rejects as the
 * stream does (a reset, an abort) or with what `onLine` throws.
 *
 * @throws BodyProblem `"too-large"` when a line grows over `maxLineBytes`:
 * the stream is cancelled, a broken server cannot make it buffer forever.
 */
export async function readLines(
  body: ReadableStream<Uint8Array>,
  maxLineBytes: number,
  onLine: (line: Uint8Array) => boolean | undefined,
): Promise<void> {
  const reader = body.getReader();
  // The start of the current line: chunks that had no newline yet.
  const parts: Uint8Array[] = [];
  let partBytes = 0;
  let stopped = false;
  const emit = (line: Uint8Array): void => {
    if (!blank(line) && onLine(line) === false) stopped = true;
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let start = 0;
      for (let nl = value.indexOf(NEWLINE); nl !== -1; nl = value.indexOf(NEWLINE, start)) {
        const tail = value.subarray(start, nl);
        start = nl + 1;
        if (partBytes + tail.byteLength > maxLineBytes) throw tooLarge(maxLineBytes);
        if (parts.length === 0) emit(tail);
        else {
          parts.push(tail);
          emit(Buffer.concat(parts, partBytes + tail.byteLength));
          parts.length = 0;
          partBytes = 0;
        }
        if (stopped) return;
      }
      if (start < value.byteLength) {
        const rest = value.subarray(start);
        partBytes += rest.byteLength;
        if (partBytes > maxLineBytes) throw tooLarge(maxLineBytes);
        parts.push(rest);
      }
    }
    if (parts.length > 0) emit(Buffer.concat(parts, partBytes));
  } finally {
    // Releases the connection of a stream stopped or failed early; a no-op on one that ended.
    await reader.cancel().catch(() => {});
  }
}

function tooLarge(max: number): BodyProblem {
  return new BodyProblem("too-large", `a streamed message is over maxBodyBytes (${max})`);
}

/** True for a line of spaces, tabs and carriage returns only. */
function blank(line: Uint8Array): boolean {
  for (let i = 0; i < line.byteLength; i++) {
    const c = line[i];
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}
