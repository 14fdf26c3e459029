import type { IncomingMessage } from "node:http";
import type { Agent } from "node:https";
import { request } from "node:https";

/**
 * A `fetch` over `node:https` through `agent`, which holds a private CA
 * (the Kubernetes cluster's `ca.crt`): what the HTTP layer uses instead of
 * the global `fetch` when a resolver is given a CA.
 *
 * Why not the global `fetch`: on Node 20 it verifies certificates against
 * Node's CA store only (plus `NODE_EXTRA_CA_CERTS`, read once at start-up);
 * a CA per request needs undici's `Agent` as its `dispatcher`, and undici
 * is not a dependency of switchyard (Node's bundled copy is not
 * importable). Verification stays on: the agent trusts exactly its CA, as
 * client-go does with a cluster's `ca.crt`.
 *
 * Only what the registry HTTP layer asks of `fetch` is supported: GET
 * with headers and a `signal` (an abort destroys the request, or the
 * response being read), the status, headers and a streamed body. Redirects
 * are never followed; bodies are not decompressed (none is asked for).
 */
export function caFetch(agent: Agent): typeof globalThis.fetch {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const signal = init?.signal ?? undefined;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const url = new URL(input instanceof Request ? input.url : String(input));
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((value, name) => {
        headers[name] = value;
      });
      const req = request(url, { method: init?.method ?? "GET", headers, agent, signal });
      req.on("error", reject);
      req.on("response", (res) => {
        try {
          const status = res.statusCode ?? 0;
          const responseHeaders = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
            responseHeaders.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
          }
          const empty = status === 204 || status === 205 || status === 304;
          if (empty) res.resume();
          resolve(
            new Response(empty ? null : bodyOf(res), {
              status,
              statusText: res.statusMessage ?? "",
              headers: responseHeaders,
            }),
          );
        } catch (error) {
          res.destroy();
          reject(error);
        }
      });
      req.end();
    });
}

/** The response body as a web stream, with back-pressure; cancelling it closes the connection. */
function bodyOf(res: IncomingMessage): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      res.on("data", (chunk: Buffer) => {
        if (settled) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) res.pause();
      });
      res.on("end", () => {
        if (settled) return;
        settled = true;
        controller.close();
      });
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        controller.error(error);
      };
      res.on("error", fail);
      res.on("close", () => fail(new Error("the connection closed before the body ended")));
    },
    pull() {
      res.resume();
    },
    cancel() {
      settled = true;
      res.destroy();
    },
  });
}
