import { parseConsulHealth } from "../src/resolvers/registry/consul-health.js";
import { consulEntry } from "../test/helpers/registry-server.js";

const N = 10000;
const entries = JSON.parse(
  JSON.stringify(
    Array.from({ length: N }, (_, i) =>
      consulEntry({
        node: `node-${i}`,
        nodeAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        address: i % 2 === 0 ? "" : `10.${100 + ((i >> 16) & 255)}.${(i >> 8) & 255}.${i & 255}`,
        port: 20000 + (i % 1000),
        tags: ["v2", i % 10 === 0 ? "canary" : "stable"],
        meta: { version: "2.1.0", zone: `zone-${i % 3}` },
        weights: { Passing: 1 + (i % 9), Warning: 1 },
      }),
    ),
  ),
);
const ts = [];
for (let k = 0; k < 40; k++) {
  const t = performance.now();
  parseConsulHealth(entries, { scheme: "http", passingOnly: true, tags: [] }, { resolver: "x", registry: "consul" });
  ts.push(performance.now() - t);
}
ts.sort((a, b) => a - b);
console.log(
  ts
    .slice(0, 5)
    .map((x) => x.toFixed(1))
    .join(" "),
);
