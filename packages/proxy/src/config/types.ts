/**
 * The shape of a *normalized* Envoy v3 configuration, as the rest of the proxy reads it.
 *
 * The config loader validates the user's YAML/JSON against Envoy's own protos and rewrites it
 * into canonical proto3-JSON form with Envoy's original (snake_case) field names:
 * - every repeated field is an array (a single mapping where a list was expected is wrapped);
 * - enums are their canonical upper-case names (`strict_dns` → `STRICT_DNS`);
 * - durations are canonical strings (`"0.25s"`, `{seconds: 1}` → `"1s"`); read them with `durationMs`;
 * - wrapper types (`UInt32Value`, `BoolValue`, ...) are plain values;
 * - integers given as strings (`consecutive_5xx: "3"`) are numbers (64-bit values beyond 2^53 stay
 *   decimal strings);
 * - `Any` values are objects carrying `"@type"` next to the message's own fields (a `TypedStruct`
 *   is unpacked into the Any it stands for);
 * - default values are *not* filled in: a missing field means "Envoy's default", which the
 *   component that reads it applies (and documents).
 *
 * Only the fields meshcraft-proxy reads are typed here; the loader keeps every other valid field
 * (so `/config_dump` shows the whole config) and the feature gate refuses, at start, fields that
 * would change behaviour and are not implemented.
 */

/** A canonical proto3-JSON duration string such as `"0.250s"` or `"10s"`. */
export type Duration = string;

/** `google.protobuf.Struct` as JSON. */
export type Struct = { [key: string]: unknown };

export interface Any {
  '@type': string;
  [field: string]: unknown;
}

export interface SocketAddress {
  protocol?: 'TCP' | 'UDP';
  address: string;
  port_value?: number;
  named_port?: string;
  resolver_name?: string;
  ipv4_compat?: boolean;
}

export interface Pipe {
  path: string;
  mode?: number;
}

export interface Address {
  socket_address?: SocketAddress;
  pipe?: Pipe;
}

export interface Node {
  id?: string;
  cluster?: string;
  metadata?: Struct;
  locality?: Locality;
  user_agent_name?: string;
}

export interface Locality {
  region?: string;
  zone?: string;
  sub_zone?: string;
}

export interface Metadata {
  filter_metadata?: { [filter: string]: Struct };
  typed_filter_metadata?: { [filter: string]: Any };
}

export interface DataSource {
  filename?: string;
  inline_bytes?: string;
  inline_string?: string;
  environment_variable?: string;
}

export interface HeaderValue {
  key: string;
  value?: string;
  raw_value?: string;
}

export interface HeaderValueOption {
  header: HeaderValue;
  /** Deprecated in v3 but still accepted: `false` means overwrite. */
  append?: boolean;
  append_action?:
    | 'APPEND_IF_EXISTS_OR_ADD'
    | 'ADD_IF_ABSENT'
    | 'OVERWRITE_IF_EXISTS_OR_ADD'
    | 'OVERWRITE_IF_EXISTS';
  keep_empty_value?: boolean;
}

export interface TransportSocket {
  name: string;
  typed_config?: Any;
}

// ---------------------------------------------------------------------------------------------
// Bootstrap

export interface Bootstrap {
  node?: Node;
  static_resources?: {
    listeners?: Listener[];
    clusters?: Cluster[];
    secrets?: Secret[];
  };
  dynamic_resources?: {
    lds_config?: ConfigSource;
    cds_config?: ConfigSource;
    ads_config?: ApiConfigSource;
  };
  admin?: Admin;
  layered_runtime?: LayeredRuntime;
  stats_flush_interval?: Duration;
  [other: string]: unknown;
}

export interface Admin {
  address?: Address;
  access_log_path?: string;
  access_log?: AccessLog[];
  profile_path?: string;
}

export interface LayeredRuntime {
  layers?: RuntimeLayer[];
}

export interface RuntimeLayer {
  name: string;
  static_layer?: Struct;
  disk_layer?: { symlink_root?: string; subdirectory?: string; append_service_cluster?: boolean };
  admin_layer?: Record<string, never>;
  rtds_layer?: { name?: string; rtds_config?: ConfigSource };
}

export interface ConfigSource {
  path?: string;
  path_config_source?: { path: string; watched_directory?: { path: string } };
  api_config_source?: ApiConfigSource;
  ads?: Record<string, never>;
  initial_fetch_timeout?: Duration;
  resource_api_version?: 'AUTO' | 'V2' | 'V3';
}

export interface ApiConfigSource {
  api_type?: 'REST' | 'GRPC' | 'DELTA_GRPC' | 'AGGREGATED_GRPC' | 'AGGREGATED_DELTA_GRPC';
  transport_api_version?: 'AUTO' | 'V2' | 'V3';
  cluster_names?: string[];
  grpc_services?: { envoy_grpc?: { cluster_name: string }; timeout?: Duration }[];
  refresh_delay?: Duration;
  request_timeout?: Duration;
  set_node_on_first_message_only?: boolean;
}

export interface Secret {
  name: string;
  tls_certificate?: TlsCertificate;
  validation_context?: CertificateValidationContext;
}

export interface TlsCertificate {
  certificate_chain?: DataSource;
  private_key?: DataSource;
  password?: DataSource;
}

export interface CertificateValidationContext {
  trusted_ca?: DataSource;
  match_typed_subject_alt_names?: unknown[];
  crl?: DataSource;
}

// ---------------------------------------------------------------------------------------------
// Listeners

export interface Listener {
  name?: string;
  address?: Address;
  additional_addresses?: { address: Address }[];
  stat_prefix?: string;
  filter_chains?: FilterChain[];
  default_filter_chain?: FilterChain;
  listener_filters?: ListenerFilter[];
  per_connection_buffer_limit_bytes?: number;
  drain_type?: 'DEFAULT' | 'MODIFY_ONLY';
  access_log?: AccessLog[];
  [other: string]: unknown;
}

export interface ListenerFilter {
  name: string;
  typed_config?: Any;
}

export interface FilterChain {
  name?: string;
  filter_chain_match?: FilterChainMatch;
  filters?: NetworkFilter[];
  transport_socket?: TransportSocket;
}

export interface FilterChainMatch {
  destination_port?: number;
  prefix_ranges?: { address_prefix: string; prefix_len?: number }[];
  server_names?: string[];
  transport_protocol?: string;
  application_protocols?: string[];
  source_prefix_ranges?: { address_prefix: string; prefix_len?: number }[];
  source_ports?: number[];
}

export interface NetworkFilter {
  name: string;
  typed_config?: Any;
}

export interface AccessLog {
  name: string;
  filter?: unknown;
  typed_config?: Any;
}

// ---------------------------------------------------------------------------------------------
// HTTP connection manager and routes

export interface HttpConnectionManager {
  '@type'?: string;
  codec_type?: 'AUTO' | 'HTTP1' | 'HTTP2' | 'HTTP3';
  stat_prefix: string;
  route_config?: RouteConfiguration;
  rds?: { config_source: ConfigSource; route_config_name: string };
  http_filters?: HttpFilter[];
  access_log?: AccessLog[];
  server_name?: string;
  server_header_transformation?: 'OVERWRITE' | 'APPEND_IF_ABSENT' | 'PASS_THROUGH';
  use_remote_address?: boolean;
  xff_num_trusted_hops?: number;
  skip_xff_append?: boolean;
  via?: string;
  generate_request_id?: boolean;
  preserve_external_request_id?: boolean;
  stream_idle_timeout?: Duration;
  request_timeout?: Duration;
  request_headers_timeout?: Duration;
  drain_timeout?: Duration;
  common_http_protocol_options?: { idle_timeout?: Duration; max_headers_count?: number };
  http_protocol_options?: { accept_http_10?: boolean; default_host_for_http_10?: string };
  http2_protocol_options?: Record<string, unknown>;
  max_request_headers_kb?: number;
  normalize_path?: boolean;
  merge_slashes?: boolean;
  strip_matching_host_port?: boolean;
  strip_any_host_port?: boolean;
  upgrade_configs?: { upgrade_type: string; enabled?: boolean }[];
  [other: string]: unknown;
}

export interface HttpFilter {
  name: string;
  typed_config?: Any;
  is_optional?: boolean;
  disabled?: boolean;
}

export interface RouteConfiguration {
  name?: string;
  virtual_hosts?: VirtualHost[];
  request_headers_to_add?: HeaderValueOption[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOption[];
  response_headers_to_remove?: string[];
  most_specific_header_mutations_wins?: boolean;
  validate_clusters?: boolean;
  internal_only_headers?: string[];
  request_mirror_policies?: RequestMirrorPolicy[];
  [other: string]: unknown;
}

export interface VirtualHost {
  name: string;
  domains: string[];
  routes?: Route[];
  require_tls?: 'NONE' | 'EXTERNAL_ONLY' | 'ALL';
  request_headers_to_add?: HeaderValueOption[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOption[];
  response_headers_to_remove?: string[];
  retry_policy?: RetryPolicy;
  request_mirror_policies?: RequestMirrorPolicy[];
  per_request_buffer_limit_bytes?: number;
  include_request_attempt_count?: boolean;
  include_attempt_count_in_response?: boolean;
  typed_per_filter_config?: { [filter: string]: Any };
  [other: string]: unknown;
}

export interface Route {
  name?: string;
  match: RouteMatch;
  route?: RouteAction;
  redirect?: RedirectAction;
  direct_response?: { status: number; body?: DataSource };
  metadata?: Metadata;
  request_headers_to_add?: HeaderValueOption[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOption[];
  response_headers_to_remove?: string[];
  typed_per_filter_config?: { [filter: string]: Any };
  per_request_buffer_limit_bytes?: number;
  [other: string]: unknown;
}

export interface RouteMatch {
  prefix?: string;
  path?: string;
  safe_regex?: RegexMatcher;
  path_separated_prefix?: string;
  connect_matcher?: Record<string, never>;
  case_sensitive?: boolean;
  runtime_fraction?: RuntimeFractionalPercent;
  headers?: HeaderMatcher[];
  query_parameters?: QueryParameterMatcher[];
  grpc?: Record<string, never>;
  [other: string]: unknown;
}

export interface RegexMatcher {
  google_re2?: { max_program_size?: number };
  regex: string;
}

export interface StringMatcher {
  exact?: string;
  prefix?: string;
  suffix?: string;
  safe_regex?: RegexMatcher;
  contains?: string;
  ignore_case?: boolean;
}

export interface HeaderMatcher {
  name: string;
  exact_match?: string;
  safe_regex_match?: RegexMatcher;
  range_match?: { start: number; end: number };
  present_match?: boolean;
  prefix_match?: string;
  suffix_match?: string;
  contains_match?: string;
  string_match?: StringMatcher;
  invert_match?: boolean;
  treat_missing_header_as_empty?: boolean;
}

export interface QueryParameterMatcher {
  name: string;
  string_match?: StringMatcher;
  present_match?: boolean;
}

export interface FractionalPercent {
  numerator?: number;
  denominator?: 'HUNDRED' | 'TEN_THOUSAND' | 'MILLION';
}

export interface RuntimeFractionalPercent {
  default_value: FractionalPercent;
  runtime_key?: string;
}

export interface RouteAction {
  cluster?: string;
  cluster_header?: string;
  weighted_clusters?: WeightedClusters;
  cluster_not_found_response_code?: 'SERVICE_UNAVAILABLE' | 'NOT_FOUND' | 'INTERNAL_SERVER_ERROR';
  metadata_match?: Metadata;
  prefix_rewrite?: string;
  regex_rewrite?: { pattern: RegexMatcher; substitution: string };
  host_rewrite_literal?: string;
  auto_host_rewrite?: boolean;
  host_rewrite_header?: string;
  timeout?: Duration;
  idle_timeout?: Duration;
  retry_policy?: RetryPolicy;
  request_mirror_policies?: RequestMirrorPolicy[];
  hash_policy?: HashPolicy[];
  priority?: 'DEFAULT' | 'HIGH';
  [other: string]: unknown;
}

export interface RequestMirrorPolicy {
  cluster?: string;
  cluster_header?: string;
  runtime_fraction?: RuntimeFractionalPercent;
  disable_shadow_host_suffix_append?: boolean;
}

export interface WeightedClusters {
  clusters: WeightedCluster[];
  total_weight?: number;
  runtime_key_prefix?: string;
}

export interface WeightedCluster {
  name?: string;
  cluster_header?: string;
  weight?: number;
  metadata_match?: Metadata;
  request_headers_to_add?: HeaderValueOption[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOption[];
  response_headers_to_remove?: string[];
}

export interface HashPolicy {
  header?: { header_name: string; regex_rewrite?: { pattern: RegexMatcher; substitution: string } };
  cookie?: { name: string; ttl?: Duration; path?: string };
  connection_properties?: { source_ip?: boolean };
  query_parameter?: { name: string };
  filter_state?: { key: string };
  terminal?: boolean;
}

export interface RetryPolicy {
  retry_on?: string;
  num_retries?: number;
  per_try_timeout?: Duration;
  retry_host_predicate?: { name: string; typed_config?: Any }[];
  host_selection_retry_max_attempts?: number;
  retriable_status_codes?: number[];
  retry_back_off?: { base_interval: Duration; max_interval?: Duration };
  retriable_headers?: HeaderMatcher[];
  retriable_request_headers?: HeaderMatcher[];
  [other: string]: unknown;
}

export interface RedirectAction {
  https_redirect?: boolean;
  scheme_redirect?: string;
  host_redirect?: string;
  port_redirect?: number;
  path_redirect?: string;
  prefix_rewrite?: string;
  regex_rewrite?: { pattern: RegexMatcher; substitution: string };
  response_code?: 'MOVED_PERMANENTLY' | 'FOUND' | 'SEE_OTHER' | 'TEMPORARY_REDIRECT' | 'PERMANENT_REDIRECT';
  strip_query?: boolean;
}

// ---------------------------------------------------------------------------------------------
// TCP proxy

export interface TcpProxy {
  '@type'?: string;
  stat_prefix: string;
  cluster?: string;
  weighted_clusters?: { clusters: { name: string; weight: number }[] };
  idle_timeout?: Duration;
  max_connect_attempts?: number;
  access_log?: AccessLog[];
  hash_policy?: { source_ip?: Record<string, never> }[];
  [other: string]: unknown;
}

// ---------------------------------------------------------------------------------------------
// Clusters

export type DiscoveryType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';

export type LbPolicy =
  | 'ROUND_ROBIN'
  | 'LEAST_REQUEST'
  | 'RING_HASH'
  | 'RANDOM'
  | 'MAGLEV'
  | 'CLUSTER_PROVIDED'
  | 'LOAD_BALANCING_POLICY_CONFIG';

export interface Cluster {
  name: string;
  alt_stat_name?: string;
  type?: DiscoveryType;
  cluster_type?: { name: string; typed_config?: Any };
  eds_cluster_config?: { eds_config?: ConfigSource; service_name?: string };
  connect_timeout?: Duration;
  per_connection_buffer_limit_bytes?: number;
  lb_policy?: LbPolicy;
  load_assignment?: ClusterLoadAssignment;
  health_checks?: HealthCheck[];
  max_requests_per_connection?: number;
  circuit_breakers?: CircuitBreakers;
  http_protocol_options?: Record<string, unknown>;
  http2_protocol_options?: Record<string, unknown>;
  typed_extension_protocol_options?: { [name: string]: Any };
  dns_refresh_rate?: Duration;
  dns_failure_refresh_rate?: { base_interval: Duration; max_interval?: Duration };
  respect_dns_ttl?: boolean;
  dns_lookup_family?: 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';
  outlier_detection?: OutlierDetection;
  lb_subset_config?: LbSubsetConfig;
  ring_hash_lb_config?: {
    minimum_ring_size?: number;
    maximum_ring_size?: number;
    hash_function?: 'XX_HASH' | 'MURMUR_HASH_2';
  };
  maglev_lb_config?: { table_size?: number };
  least_request_lb_config?: {
    choice_count?: number;
    active_request_bias?: { default_value: number; runtime_key: string };
  };
  common_lb_config?: CommonLbConfig;
  transport_socket?: TransportSocket;
  metadata?: Metadata;
  upstream_connection_options?: { tcp_keepalive?: Record<string, unknown> };
  close_connections_on_host_health_failure?: boolean;
  ignore_health_on_host_removal?: boolean;
  [other: string]: unknown;
}

export interface ClusterLoadAssignment {
  cluster_name: string;
  endpoints?: LocalityLbEndpoints[];
  named_endpoints?: { [name: string]: Endpoint };
  policy?: {
    drop_overloads?: unknown[];
    overprovisioning_factor?: number;
    endpoint_stale_after?: Duration;
  };
}

export interface LocalityLbEndpoints {
  locality?: Locality;
  lb_endpoints?: LbEndpoint[];
  load_balancing_weight?: number;
  priority?: number;
  proximity?: number;
}

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface LbEndpoint {
  endpoint?: Endpoint;
  endpoint_name?: string;
  health_status?: HealthStatus;
  metadata?: Metadata;
  load_balancing_weight?: number;
}

export interface Endpoint {
  address?: Address;
  health_check_config?: { port_value?: number; hostname?: string; address?: Address };
  hostname?: string;
}

export interface HealthCheck {
  timeout: Duration;
  interval: Duration;
  initial_jitter?: Duration;
  interval_jitter?: Duration;
  interval_jitter_percent?: number;
  unhealthy_threshold: number;
  healthy_threshold: number;
  reuse_connection?: boolean;
  no_traffic_interval?: Duration;
  no_traffic_healthy_interval?: Duration;
  unhealthy_interval?: Duration;
  unhealthy_edge_interval?: Duration;
  healthy_edge_interval?: Duration;
  always_log_health_check_failures?: boolean;
  event_log_path?: string;
  http_health_check?: {
    host?: string;
    path: string;
    send?: Payload;
    receive?: Payload[];
    request_headers_to_add?: HeaderValueOption[];
    request_headers_to_remove?: string[];
    expected_statuses?: { start: number; end: number }[];
    retriable_statuses?: { start: number; end: number }[];
    codec_client_type?: 'HTTP1' | 'HTTP2' | 'HTTP3';
    method?: string;
  };
  tcp_health_check?: { send?: Payload; receive?: Payload[] };
  grpc_health_check?: { service_name?: string; authority?: string };
  custom_health_check?: { name: string; typed_config?: Any };
  [other: string]: unknown;
}

export interface Payload {
  text?: string;
  binary?: string;
}

export interface CircuitBreakers {
  thresholds?: CircuitBreakerThresholds[];
  per_host_thresholds?: CircuitBreakerThresholds[];
}

export interface CircuitBreakerThresholds {
  priority?: 'DEFAULT' | 'HIGH';
  max_connections?: number;
  max_pending_requests?: number;
  max_requests?: number;
  max_retries?: number;
  retry_budget?: { budget_percent?: { value: number }; min_retry_concurrency?: number };
  track_remaining?: boolean;
  max_connection_pools?: number;
}

export interface OutlierDetection {
  consecutive_5xx?: number;
  interval?: Duration;
  base_ejection_time?: Duration;
  max_ejection_percent?: number;
  enforcing_consecutive_5xx?: number;
  enforcing_success_rate?: number;
  success_rate_minimum_hosts?: number;
  success_rate_request_volume?: number;
  success_rate_stdev_factor?: number;
  consecutive_gateway_failure?: number;
  enforcing_consecutive_gateway_failure?: number;
  split_external_local_origin_errors?: boolean;
  consecutive_local_origin_failure?: number;
  enforcing_consecutive_local_origin_failure?: number;
  enforcing_local_origin_success_rate?: number;
  failure_percentage_threshold?: number;
  enforcing_failure_percentage?: number;
  enforcing_failure_percentage_local_origin?: number;
  failure_percentage_minimum_hosts?: number;
  failure_percentage_request_volume?: number;
  max_ejection_time?: Duration;
  max_ejection_time_jitter?: Duration;
  successful_active_health_check_uneject_host?: boolean;
  always_eject_one_host?: boolean;
  [other: string]: unknown;
}

export interface LbSubsetConfig {
  fallback_policy?: 'NO_FALLBACK' | 'ANY_ENDPOINT' | 'DEFAULT_SUBSET';
  default_subset?: Struct;
  subset_selectors?: {
    keys?: string[];
    single_host_per_subset?: boolean;
    fallback_policy?: 'NOT_DEFINED' | 'NO_FALLBACK' | 'ANY_ENDPOINT' | 'DEFAULT_SUBSET' | 'KEYS_SUBSET';
    fallback_keys_subset?: string[];
  }[];
  locality_weight_aware?: boolean;
  scale_locality_weight?: boolean;
  panic_mode_any?: boolean;
  list_as_any?: boolean;
  metadata_fallback_policy?: 'METADATA_NO_FALLBACK' | 'FALLBACK_LIST';
}

export interface CommonLbConfig {
  healthy_panic_threshold?: { value?: number };
  zone_aware_lb_config?: Record<string, unknown>;
  locality_weighted_lb_config?: Record<string, never>;
  update_merge_window?: Duration;
  ignore_new_hosts_until_first_hc?: boolean;
  close_connections_on_host_set_change?: boolean;
  [other: string]: unknown;
}

/** A `DiscoveryResponse` as the filesystem subscription reads it from a watched file. */
export interface DiscoveryResponse {
  version_info?: string;
  resources?: Any[];
  type_url?: string;
  nonce?: string;
}
