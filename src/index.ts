/**
 * switchyard: in-process service discovery and client-side load balancing.
 * This file is the whole public surface; it only re-exports.
 * @module
 */
export type { Balancer, BalancerContext, Host, PickContext, Picker } from "./balancer.js";
export { EMPTY_PICKER } from "./balancer.js";
export type { PriorityLevel, PriorityOptions, PriorityPlan } from "./balancers/priority.js";
export { buildPriorityPlan, PriorityPicker, priorityLoads, priorityOptions } from "./balancers/priority.js";
export { RandomPicker, random } from "./balancers/random.js";
export { RoundRobinPicker, roundRobin } from "./balancers/round-robin.js";
export { WeightedRandomPicker, weightedRandom } from "./balancers/weighted-random.js";
export { WeightedRoundRobinPicker, weightedRoundRobin } from "./balancers/weighted-round-robin.js";
export type { Clock, Timer } from "./clock.js";
export { sleep, systemClock } from "./clock.js";
export type { Endpoint, EndpointDefaults, EndpointInput } from "./endpoint.js";
export { DEFAULT_WEIGHT, endpoint, endpointId, MAX_WEIGHT, parseEndpoint, sameEndpoint } from "./endpoint.js";
export type { EndpointFilter, EndpointSelector } from "./endpoint-filter.js";
export { endpointMatcher } from "./endpoint-filter.js";
export type { EndpointStats } from "./endpoint-state.js";
export {
  AbortError,
  ClosedError,
  InvalidConfigError,
  InvalidEndpointError,
  NoEndpointsError,
  ReadyTimeoutError,
  ResolverError,
  SwitchyardError,
  UnknownServiceError,
} from "./errors.js";
export type { Outcome } from "./outcome.js";
export { isFailure } from "./outcome.js";
export type { Random } from "./random.js";
export { randomInt, systemRandom } from "./random.js";
export type { ResolverEvents } from "./resolver.js";
export { normalizeEndpoints, Resolver, sameEndpointSet } from "./resolver.js";
export type { DnsFamily } from "./resolvers/dns-common.js";
export type { DnsErrorCode, DnsErrorContext, DroppedRecord } from "./resolvers/dns-error.js";
export { DnsError } from "./resolvers/dns-error.js";
export type { DnsHostResolverOptions } from "./resolvers/dns-host.js";
export { DnsHostResolver, dnsHostResolver } from "./resolvers/dns-host.js";
export type { DnsAnswer, DnsResolverOptions } from "./resolvers/dns-refresh.js";
export { DnsResolverBase } from "./resolvers/dns-refresh.js";
export type { DnsSrvResolverOptions } from "./resolvers/dns-srv.js";
export { DnsSrvResolver, dnsSrvResolver } from "./resolvers/dns-srv.js";
export type { SrvMappingOptions, SrvRecord, SrvTarget } from "./resolvers/dns-srv-records.js";
export { srvEndpoints, srvTargets } from "./resolvers/dns-srv-records.js";
export type { StaticHost, StaticResolverOptions } from "./resolvers/static.js";
export { StaticResolver, staticResolver } from "./resolvers/static.js";
export type { ServiceEntry } from "./service-registry.js";
export { ServiceRegistry } from "./service-registry.js";
export type {
  EndpointHealth,
  EndpointSnapshot,
  EndpointsChange,
  UpstreamEvents,
  UpstreamOptions,
  UpstreamSnapshot,
} from "./upstream.js";
export { createUpstream, Upstream } from "./upstream.js";
