/**
 * switchyard: in-process service discovery and client-side load balancing.
 * This file is the whole public surface; it only re-exports.
 * @module
 */
export type { Balancer, BalancerContext, Host, PickContext, Picker } from "./balancer.js";
export { hashKey } from "./balancers/hash-key.js";
export type { LeastRequestOptions } from "./balancers/least-request.js";
export { leastRequest } from "./balancers/least-request.js";
export type { LoadMetric } from "./balancers/load-metric.js";
export { inFlightLoad } from "./balancers/load-metric.js";
export type { MaglevOptions } from "./balancers/maglev.js";
export { maglev } from "./balancers/maglev.js";
export type { P2COptions } from "./balancers/p2c.js";
export { p2c } from "./balancers/p2c.js";
export type { P2CPeakEwmaOptions, PeakEwmaOptions } from "./balancers/peak-ewma.js";
export { p2cPeakEwma, peakEwma } from "./balancers/peak-ewma.js";
export { random } from "./balancers/random.js";
export type { RingHashOptions } from "./balancers/ring-hash.js";
export { ringHash } from "./balancers/ring-hash.js";
export { roundRobin } from "./balancers/round-robin.js";
export { weightedRandom } from "./balancers/weighted-random.js";
export { weightedRoundRobin } from "./balancers/weighted-round-robin.js";
export { anyStrategy } from "./breaker/any.js";
export type { BreakerBackoff, OpenBackoffOptions } from "./breaker/backoff.js";
export { openBackoff } from "./breaker/backoff.js";
export type { BreakerEvents, BreakerPermit, BreakerStateChange, CircuitBreakerOptions } from "./breaker/breaker.js";
export { CircuitBreaker } from "./breaker/breaker.js";
export type { BreakerSnapshot, BreakerState, CircuitOptions } from "./breaker/circuit.js";
export { consecutiveFailures } from "./breaker/consecutive.js";
export type { FailureRateByCountOptions } from "./breaker/count-window.js";
export { failureRateByCount } from "./breaker/count-window.js";
export type { CircuitBreakersOptions, CircuitBreakersPlugin } from "./breaker/plugin.js";
export { circuitBreakers } from "./breaker/plugin.js";
export type { SlowCallRateOptions } from "./breaker/slow-call.js";
export { slowCallRate } from "./breaker/slow-call.js";
export type { BreakerStrategy } from "./breaker/strategy.js";
export type { FailureRateByTimeOptions } from "./breaker/time-window.js";
export { failureRateByTime } from "./breaker/time-window.js";
export type { Clock, Timer } from "./clock.js";
export { systemClock } from "./clock.js";
export type { Endpoint, EndpointDefaults, EndpointInput } from "./endpoint.js";
export { DEFAULT_WEIGHT, endpoint, endpointId, MAX_WEIGHT, parseEndpoint } from "./endpoint.js";
export type { EndpointFilter, EndpointSelector } from "./endpoint-filter.js";
export { endpointMatcher } from "./endpoint-filter.js";
export type { ConcurrencyLimitKind, NoEndpointsReason } from "./errors.js";
export {
  AbortError,
  CircuitOpenError,
  ClosedError,
  ConcurrencyLimitError,
  InvalidArgumentError,
  InvalidConfigError,
  InvalidEndpointError,
  NoEndpointsError,
  ReadyTimeoutError,
  ResolverError,
  SwitchyardError,
  UnknownServiceError,
} from "./errors.js";
export type { ActiveHealthChecksPlugin } from "./health/active/checker.js";
export { activeHealthChecks } from "./health/active/checker.js";
export type {
  ActiveHealthChecksOptions,
  ActiveHealthyOptions,
  ActiveProbeType,
  ActiveUnhealthyOptions,
} from "./health/active/options.js";
export type {
  ActiveEndpointHealth,
  ActiveHealthChange,
  ActiveHealthState,
  ActiveHealthSummary,
  ActiveProbeFailure,
  ActiveProbeResult,
} from "./health/active/results.js";
export type {
  ConcurrencyLimitsOptions,
  ConcurrencyLimitsPlugin,
  ConcurrencyLimitsView,
} from "./health/concurrency-limits.js";
export { concurrencyLimits } from "./health/concurrency-limits.js";
export type { OutlierEjectionType, SuccessRateStats } from "./health/outlier/detectors.js";
export type { OutlierDetectionOptions } from "./health/outlier/options.js";
export type {
  OutlierCounts,
  OutlierDetectionPlugin,
  OutlierDetectionState,
  OutlierEndpointState,
} from "./health/outlier/plugin.js";
export { outlierDetection } from "./health/outlier/plugin.js";
export type { PassiveHealthChecksOptions } from "./health/passive/options.js";
export type {
  PassiveEndpointState,
  PassiveHealthChecksPlugin,
  PassiveHealthState,
} from "./health/passive/plugin.js";
export { passiveHealthChecks } from "./health/passive/plugin.js";
export type { FailureKind, Outcome } from "./outcome.js";
export { isFailure } from "./outcome.js";
export type { Random } from "./random.js";
export { systemRandom } from "./random.js";
export type { ConsulCheckStatus, ConsulRegistrarOptions, ConsulServiceDefinition } from "./registrar/consul.js";
export { ConsulRegistrar, consulRegistrar } from "./registrar/consul.js";
export type { EtcdRegistrarOptions } from "./registrar/etcd.js";
export { EtcdRegistrar, etcdRegistrar } from "./registrar/etcd.js";
export type { EurekaRegistrarOptions } from "./registrar/eureka.js";
export { EurekaRegistrar, eurekaRegistrar } from "./registrar/eureka.js";
export type { EurekaInstanceDefinition, EurekaStatus } from "./registrar/eureka-instance.js";
export type { HttpRegistrarOptions } from "./registrar/http-registrar.js";
export type { KongRegistrarOptions } from "./registrar/kong.js";
export { KongRegistrar, kongRegistrar } from "./registrar/kong.js";
export type {
  RegistrarEvents,
  RegistrarInit,
  RegistrarOptions,
  RegistrarRetryOptions,
  RegistrarState,
} from "./registrar/registrar.js";
export { Registrar } from "./registrar/registrar.js";
export type { Closable, CloseOnSignalsOptions } from "./registrar/shutdown.js";
export { closeOnSignals } from "./registrar/shutdown.js";
export type { EndpointsDelta, ResolverEvents } from "./resolver.js";
export { Resolver } from "./resolver.js";
export type { DnsFamily } from "./resolvers/dns/common.js";
export type { DnsErrorCode, DnsErrorContext, DroppedRecord } from "./resolvers/dns/error.js";
export { DnsError } from "./resolvers/dns/error.js";
export type { DnsHostResolverOptions } from "./resolvers/dns/host.js";
export { DnsHostResolver, dnsHostResolver } from "./resolvers/dns/host.js";
export type { DnsResolverOptions } from "./resolvers/dns/refresh.js";
export type { DnsSrvResolverOptions } from "./resolvers/dns/srv.js";
export { DnsSrvResolver, dnsSrvResolver } from "./resolvers/dns/srv.js";
export type { RefreshOptions } from "./resolvers/refresh/options.js";
export type { ConsulResolverOptions } from "./resolvers/registry/consul.js";
export { ConsulResolver, consulResolver } from "./resolvers/registry/consul.js";
export type { RegistryErrorCode, RegistryErrorContext } from "./resolvers/registry/error.js";
export { RegistryError } from "./resolvers/registry/error.js";
export type { EtcdResolverOptions } from "./resolvers/registry/etcd.js";
export { EtcdResolver, etcdResolver } from "./resolvers/registry/etcd.js";
export type { EtcdInstance } from "./resolvers/registry/etcd-instance.js";
export type { EtcdConnectionOptions } from "./resolvers/registry/etcd-options.js";
export type { EurekaResolverOptions } from "./resolvers/registry/eureka.js";
export { EurekaResolver, eurekaResolver } from "./resolvers/registry/eureka.js";
export type { JsonInstance, JsonResolverOptions } from "./resolvers/registry/json.js";
export { JsonResolver, jsonResolver } from "./resolvers/registry/json.js";
export { KubernetesResolver, kubernetesResolver } from "./resolvers/registry/k8s.js";
export type { KubernetesResolverOptions } from "./resolvers/registry/k8s-options.js";
export type { KongResolverOptions } from "./resolvers/registry/kong.js";
export { KongResolver, kongResolver } from "./resolvers/registry/kong.js";
export type { RegistryResolverOptions } from "./resolvers/registry/options.js";
export type { StaticHost, StaticResolverOptions } from "./resolvers/static.js";
export { StaticResolver, staticResolver } from "./resolvers/static.js";
export type { ServiceEntry } from "./service-registry.js";
export { ServiceRegistry } from "./service-registry.js";
export type {
  EndpointHealthReport,
  HealthReason,
  HealthStatus,
  HealthWeight,
  UpstreamHealth,
  UpstreamHealthChange,
  UpstreamHealthStatus,
} from "./upstream/health.js";
export type { UpstreamOptions } from "./upstream/options.js";
export type { PluginContext, UpstreamPlugin } from "./upstream/plugin.js";
export type { PriorityLevel, PriorityOptions } from "./upstream/priority-options.js";
export type { SlowStartOptions } from "./upstream/slow-start.js";
export type {
  EndpointHealth,
  EndpointOverride,
  EndpointSnapshot,
  EndpointStats,
  ErrorSummary,
  UpstreamSnapshot,
} from "./upstream/snapshot.js";
export type { EndpointTable } from "./upstream/table.js";
export type { EndpointsChange, UpstreamEvents } from "./upstream/upstream.js";
export { createUpstream, Upstream } from "./upstream/upstream.js";
export type { ZoneLoad, ZoneRouting } from "./upstream/zone-loads.js";
export type { ZoneOptions } from "./upstream/zone-options.js";
