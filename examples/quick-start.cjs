const { createUpstream, staticResolver } = require("switchyard");

// CommonJS has no top-level await: the sample runs in an async main().
async function main() {
  // Where the instances of a service are: a fixed list here; DNS SRV plugs in the same way.
  const resolver = staticResolver([
    { host: "10.0.0.1", port: 8080, weight: 75 },
    { host: "10.0.0.2", port: 8080, weight: 25 },
  ]);
  const upstream = createUpstream({ name: "user-service", resolver });
  await upstream.ready();

  const counts = new Map();
  for (let i = 0; i < 1000; i++) {
    const target = upstream.pick(); // synchronous, O(1), allocation-free
    // In real code: const response = await fetch(`${target.scheme}://${target.id}/users/1`);
    upstream.report(target, { status: 200, latencyMs: 3 }); // what happened: per-endpoint counters
    counts.set(target.id, (counts.get(target.id) ?? 0) + 1);
  }
  console.log(counts.get("10.0.0.1:8080"), counts.get("10.0.0.2:8080")); // 750 250

  // Shift traffic live (blue-green, canary): the new weights are in force when set() returns.
  resolver.set([
    { host: "10.0.0.1", port: 8080, weight: 0 },
    { host: "10.0.0.2", port: 8080, weight: 100 },
  ]);
  console.log(upstream.pick().id); // 10.0.0.2:8080

  await upstream.close();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
