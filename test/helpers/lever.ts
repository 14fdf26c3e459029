import type { EndpointTable, Host, PluginContext, UpstreamPlugin } from "../../src/index.js";

/**
 * A plug-in a test drives by hand: `eject(id, on)` sets or clears its
 * ejection reason on an endpoint, `host(id)` and `table()` expose what the
 * upstream gave it. Add `plugin` to an upstream's `plugins`.
 */
export function lever() {
  let ctx: PluginContext | undefined;
  const plugin: UpstreamPlugin = {
    name: "lever",
    attach: (c) => {
      ctx = c;
    },
  };
  const host = (id: string) => (ctx as PluginContext).hosts().find((h) => h.endpoint.id === id) as Host;
  return {
    plugin,
    eject: (id: string, on = true) => ctx?.eject(host(id), on),
    table: (): EndpointTable => (ctx as PluginContext).table,
    host,
  };
}
