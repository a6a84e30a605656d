/**
 * The feature gate: configuration Envoy accepts and meshcraft-proxy validates, but does not
 * implement yet. The proxy refuses such a config at start, naming the field, rather than running
 * with the feature silently ignored. `--mode validate` does not consult the gate.
 *
 * NOT_IMPLEMENTED is the one table to edit: when a feature lands, delete its row (or its field from
 * a row). A row fires when one of its fields is set to something other than its default (a message
 * counts as set even when empty: `http2_protocol_options: {}` turns HTTP/2 on), or when its `when`
 * says so.
 */

import { retryHostPredicateKind } from '../http/route/retry-policy.js';
import { envoyApi, type Field } from './envoy-protos.js';
import { ConfigError, formatLocated } from './errors.js';
import { configTypeName } from './extensions.js';
import type { Bootstrap } from './types.js';
import { visitMessages } from './visit.js';

type Record_ = Record<string, unknown>;

interface GateRow {
  /** Full name of the message the fields belong to; the gate finds it anywhere in the config. */
  message: string;
  fields: string[];
  /** What is missing, for the message; defaults to `Message.field`. */
  feature?: string | ((field: string, value: unknown, message: Record_) => string);
  /** Fires only when this holds (instead of "set to a non-default value"). */
  when?: (value: unknown, message: Record_, field: string) => boolean;
}

const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
const ADMIN = 'envoy.config.bootstrap.v3.Admin';
const RUNTIME_LAYER = 'envoy.config.bootstrap.v3.RuntimeLayer';
const DYNAMIC_RESOURCES = 'envoy.config.bootstrap.v3.Bootstrap.DynamicResources';
const CONFIG_SOURCE = 'envoy.config.core.v3.ConfigSource';
const API_CONFIG_SOURCE = 'envoy.config.core.v3.ApiConfigSource';
const GRPC_SERVICE = 'envoy.config.core.v3.GrpcService';
const LISTENER = 'envoy.config.listener.v3.Listener';
const FILTER_CHAIN = 'envoy.config.listener.v3.FilterChain';
const FILTER_CHAIN_MATCH = 'envoy.config.listener.v3.FilterChainMatch';
const NETWORK_FILTER = 'envoy.config.listener.v3.Filter';
const LISTENER_FILTER = 'envoy.config.listener.v3.ListenerFilter';
const SOCKET_ADDRESS = 'envoy.config.core.v3.SocketAddress';
const ADDRESS = 'envoy.config.core.v3.Address';
const TRANSPORT_SOCKET = 'envoy.config.core.v3.TransportSocket';
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const HTTP_FILTER = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter';
const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';
const TCP_PROXY = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const ACCESS_LOG = 'envoy.config.accesslog.v3.AccessLog';
const FILE_ACCESS_LOG = 'envoy.extensions.access_loggers.file.v3.FileAccessLog';
const STDOUT_ACCESS_LOG = 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
const FORMAT_STRING = 'envoy.config.core.v3.SubstitutionFormatString';
const ROUTE_CONFIGURATION = 'envoy.config.route.v3.RouteConfiguration';
const VIRTUAL_HOST = 'envoy.config.route.v3.VirtualHost';
const ROUTE = 'envoy.config.route.v3.Route';
const ROUTE_MATCH = 'envoy.config.route.v3.RouteMatch';
const ROUTE_ACTION = 'envoy.config.route.v3.RouteAction';
const RETRY_POLICY = 'envoy.config.route.v3.RetryPolicy';
const HASH_POLICY = 'envoy.config.route.v3.RouteAction.HashPolicy';
const WEIGHTED_CLUSTER = 'envoy.config.route.v3.WeightedCluster';
const CLUSTER_WEIGHT = 'envoy.config.route.v3.WeightedCluster.ClusterWeight';
const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const THRESHOLDS = 'envoy.config.cluster.v3.CircuitBreakers.Thresholds';
const CIRCUIT_BREAKERS = 'envoy.config.cluster.v3.CircuitBreakers';
const OUTLIER_DETECTION = 'envoy.config.cluster.v3.OutlierDetection';
const COMMON_LB_CONFIG = 'envoy.config.cluster.v3.Cluster.CommonLbConfig';
const LEAST_REQUEST_CONFIG = 'envoy.config.cluster.v3.Cluster.LeastRequestLbConfig';
const ASSIGNMENT = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
const ASSIGNMENT_POLICY = 'envoy.config.endpoint.v3.ClusterLoadAssignment.Policy';
const LOCALITY_ENDPOINTS = 'envoy.config.endpoint.v3.LocalityLbEndpoints';
const LB_ENDPOINT = 'envoy.config.endpoint.v3.LbEndpoint';
const ENDPOINT = 'envoy.config.endpoint.v3.Endpoint';
const HEALTH_CHECK = 'envoy.config.core.v3.HealthCheck';
const HTTP_HEALTH_CHECK = 'envoy.config.core.v3.HealthCheck.HttpHealthCheck';
const TCP_HEALTH_CHECK = 'envoy.config.core.v3.HealthCheck.TcpHealthCheck';

const RAW_BUFFER = 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
const TLS = 'envoy.extensions.transport_sockets.tls.v3';
const DOWNSTREAM_TLS = `${TLS}.DownstreamTlsContext`;
const UPSTREAM_TLS = `${TLS}.UpstreamTlsContext`;
const TLS_INSPECTOR = 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
const HTTP2_OPTIONS = 'envoy.config.core.v3.Http2ProtocolOptions';
const UPSTREAM_HTTP_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
/** Keys of `typed_extension_protocol_options` meshcraft-proxy reads (by type name or extension name). */
const PROTOCOL_OPTIONS_KEYS = [UPSTREAM_HTTP_OPTIONS, 'envoy.upstreams.http.http_protocol_options'];
const HTTP_FAULT = 'envoy.extensions.filters.http.fault.v3.HTTPFault';
const LOCAL_RATE_LIMIT = 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const ROUTE_FILTER_CONFIG = 'envoy.config.route.v3.FilterConfig';
const UDP_PROXY = 'envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig';
const UDP_LISTENER_CONFIG = 'envoy.config.listener.v3.UdpListenerConfig';
const XDS_MATCHER = 'xds.type.matcher.v3.Matcher';
const XDS_ON_MATCH = 'xds.type.matcher.v3.Matcher.OnMatch';

/** Config types of the HTTP filters meshcraft-proxy implements. */
const IMPLEMENTED_HTTP_FILTERS = new Set([
  ROUTER,
  HTTP_FAULT,
  'envoy.extensions.filters.http.cors.v3.Cors',
  LOCAL_RATE_LIMIT,
  'envoy.extensions.filters.http.health_check.v3.HealthCheck',
]);
/** Config types of the listener filters meshcraft-proxy implements. */
const IMPLEMENTED_LISTENER_FILTERS = new Set([UDP_PROXY, TLS_INSPECTOR]);

export const NOT_IMPLEMENTED: GateRow[] = [
  // Bootstrap
  {
    message: DYNAMIC_RESOURCES,
    fields: ['lds_resources_locator', 'cds_resources_locator'],
    feature: 'xdstp:// resource locators',
  },
  {
    message: API_CONFIG_SOURCE,
    fields: ['api_type'],
    when: (v) => v !== 'GRPC' && v !== 'REST',
    feature: (_, v) => `xDS api_type ${v} (GRPC and REST are implemented)`,
  },
  { message: API_CONFIG_SOURCE, fields: ['rate_limit_settings', 'config_validators'] },
  { message: CONFIG_SOURCE, fields: ['self', 'authorities'] },
  { message: GRPC_SERVICE, fields: ['google_grpc'], feature: 'Google gRPC services (use envoy_grpc)' },
  { message: GRPC_SERVICE, fields: ['initial_metadata', 'retry_policy'] },
  { message: BOOTSTRAP, fields: ['tracing'], feature: 'tracing' },
  {
    message: BOOTSTRAP,
    fields: ['stats_sinks', 'stats_config', 'stats_flush_on_admin', 'deferred_stat_options'],
    feature: 'stats sinks and stats configuration',
  },
  { message: BOOTSTRAP, fields: ['overload_manager'], feature: 'the overload manager' },
  {
    message: BOOTSTRAP,
    fields: [
      'cluster_manager',
      'flags_path',
      'watchdog',
      'watchdogs',
      'hds_config',
      'enable_dispatcher_stats',
      'header_prefix',
      'stats_server_version_override',
      'use_tcp_for_dns_lookups',
      'bootstrap_extensions',
      'config_sources',
      'default_config_source',
      'default_socket_interface',
      'certificate_provider_instances',
      'fatal_actions',
      'dns_resolution_config',
      'typed_dns_resolver_config',
      'inline_headers',
      'perf_tracing_file_path',
      'default_regex_engine',
      'xds_delegate_extension',
      'xds_config_tracker_extension',
      'listener_manager',
      'application_log_config',
      'grpc_async_client_manager_config',
      'memory_allocator_manager',
    ],
  },
  { message: ADMIN, fields: ['socket_options', 'ignore_global_conn_limit'] },
  { message: RUNTIME_LAYER, fields: ['rtds_layer'], feature: 'runtime discovery (RTDS) layers' },

  // Listeners
  {
    message: LISTENER,
    fields: [
      'use_original_dst',
      'per_connection_buffer_limit_bytes',
      'drain_type',
      'transparent',
      'freebind',
      'tcp_fast_open_queue_length',
      'socket_options',
      'api_listener',
      'connection_balance_config',
      'reuse_port',
      'access_log',
      'tcp_backlog_size',
      'default_filter_chain',
      'bind_to_port',
      'internal_listener',
      'enable_reuse_port',
      'enable_mptcp',
      'ignore_global_conn_limit',
      'filter_chain_matcher',
      'additional_addresses',
      'max_connections_to_accept_per_socket_event',
      'bypass_overload_manager',
    ],
  },
  {
    message: FILTER_CHAIN_MATCH,
    fields: [
      'prefix_ranges',
      'address_suffix',
      'suffix_len',
      'source_prefix_ranges',
      'source_ports',
      'source_type',
      'direct_source_prefix_ranges',
    ],
    feature: (field) => `filter chain matching on ${field}`,
  },
  {
    message: FILTER_CHAIN,
    fields: ['use_proxy_proto', 'on_demand_configuration', 'transport_socket_connect_timeout'],
  },
  {
    message: TRANSPORT_SOCKET,
    fields: ['name'],
    // Plain TCP (raw_buffer) is what a listener or cluster without a transport socket uses anyway.
    when: (_, socket) =>
      ![RAW_BUFFER, DOWNSTREAM_TLS, UPSTREAM_TLS].includes(
        configTypeName(socket, 'upstream transport socket') ?? '',
      ),
    feature: (_, name) => `the transport socket '${name}'`,
  },
  {
    message: `${TLS}.CommonTlsContext`,
    fields: [
      'tls_certificate_provider_instance',
      'tls_certificate_certificate_provider',
      'tls_certificate_certificate_provider_instance',
      'validation_context_certificate_provider',
      'validation_context_certificate_provider_instance',
      'custom_handshaker',
      'key_log',
    ],
  },
  {
    message: `${TLS}.CommonTlsContext.CombinedCertificateValidationContext`,
    fields: ['validation_context_certificate_provider', 'validation_context_certificate_provider_instance'],
  },
  { message: `${TLS}.TlsParameters`, fields: ['signature_algorithms'] },
  {
    message: `${TLS}.TlsCertificate`,
    fields: [
      'ocsp_staple',
      'signed_certificate_timestamp',
      'private_key_provider',
      'watched_directory',
      'pkcs12',
    ],
  },
  {
    message: `${TLS}.CertificateValidationContext`,
    fields: [
      'verify_certificate_hash',
      'verify_certificate_spki',
      'require_signed_certificate_timestamp',
      'crl',
      'allow_expired_certificate',
      'trust_chain_verification',
      'watched_directory',
      'custom_validator_config',
      'ca_certificate_provider_instance',
      'only_verify_leaf_cert_crl',
      'max_verify_depth',
      'system_root_certs',
    ],
  },
  {
    message: `${TLS}.SdsSecretConfig`,
    fields: ['sds_config'],
    feature: 'secret discovery (SDS) over a config source',
  },
  { message: `${TLS}.Secret`, fields: ['session_ticket_keys', 'generic_secret'] },
  {
    message: DOWNSTREAM_TLS,
    fields: [
      'require_sni',
      'session_ticket_keys',
      'session_ticket_keys_sds_secret_config',
      'ocsp_staple_policy',
      'full_scan_certs_on_sni_mismatch',
      'disable_stateful_session_resumption',
    ],
  },
  { message: UPSTREAM_TLS, fields: ['allow_renegotiation', 'enforce_rsa_key_usage'] },
  {
    message: UPSTREAM_TLS,
    fields: ['max_session_keys'],
    // Envoy's default, one resumable session per host, is what the client contexts keep.
    when: (v) => v !== 1,
    feature: 'max_session_keys other than 1',
  },
  { message: SOCKET_ADDRESS, fields: ['named_port', 'resolver_name', 'ipv4_compat'] },
  { message: ADDRESS, fields: ['pipe'], feature: 'Unix domain socket (pipe) addresses' },
  { message: ADDRESS, fields: ['envoy_internal_address'], feature: 'internal listener addresses' },

  // Network filters
  {
    message: NETWORK_FILTER,
    fields: ['name'],
    when: (_, filter) => ![HCM, TCP_PROXY].includes(configTypeName(filter, 'network filter') ?? ''),
    feature: (_, name) => `the network filter '${name}'`,
  },
  { message: NETWORK_FILTER, fields: ['config_discovery'], feature: 'filter config discovery (ECDS)' },
  {
    message: LISTENER_FILTER,
    fields: ['name'],
    when: (_, filter) => !IMPLEMENTED_LISTENER_FILTERS.has(configTypeName(filter, 'listener filter') ?? ''),
    feature: (_, name) => `the listener filter '${name}'`,
  },
  { message: LISTENER_FILTER, fields: ['filter_disabled', 'config_discovery'] },
  {
    message: UDP_LISTENER_CONFIG,
    fields: ['downstream_socket_config', 'quic_options', 'udp_packet_packet_writer_config'],
  },
  {
    message: UDP_PROXY,
    fields: [
      'use_original_src_ip',
      'hash_policies',
      'upstream_socket_config',
      'use_per_packet_load_balancing',
      'access_log',
      'proxy_access_log',
      'session_filters',
      'tunneling_config',
      'access_log_options',
    ],
  },
  {
    message: XDS_MATCHER,
    fields: ['matcher_list', 'matcher_tree'],
    feature: 'matchers other than on_no_match',
  },
  { message: XDS_ON_MATCH, fields: ['matcher'], feature: 'nested matchers' },
  {
    message: TCP_PROXY,
    fields: [
      'downstream_idle_timeout',
      'upstream_idle_timeout',
      'metadata_match',
      'hash_policy',
      'tunneling_config',
      'max_downstream_connection_duration',
      'on_demand',
      'access_log_flush_interval',
      'flush_access_log_on_connected',
      'access_log_options',
    ],
  },

  // HTTP connection manager
  {
    message: HCM,
    fields: ['codec_type'],
    when: (v) => v !== 'AUTO' && v !== 'HTTP1' && v !== 'HTTP2',
    feature: (_, v) => `codec_type ${v}`,
  },
  { message: HCM, fields: ['scoped_routes'], feature: 'scoped route discovery (SRDS)' },
  { message: HCM, fields: ['tracing'], feature: 'tracing' },
  { message: HCM, fields: ['http3_protocol_options'], feature: 'HTTP/3' },
  {
    message: HTTP2_OPTIONS,
    fields: [
      'allow_connect',
      'allow_metadata',
      'max_outbound_frames',
      'max_outbound_control_frames',
      'max_consecutive_inbound_frames_with_empty_payload',
      'max_inbound_priority_frames_per_stream',
      'max_inbound_window_update_frames_per_data_frame_sent',
      'stream_error_on_invalid_http_messaging',
      'custom_settings_parameters',
      'override_stream_error_on_invalid_http_message',
      'connection_keepalive',
      'use_oghttp2_codec',
    ],
  },
  { message: HCM, fields: ['upgrade_configs'], feature: 'HTTP upgrades (WebSocket, CONNECT)' },
  {
    message: HCM,
    fields: [
      'add_user_agent',
      'drain_timeout',
      'forward_client_cert_details',
      'set_current_client_cert_details',
      'proxy_100_continue',
      'represent_ipv4_remote_address_as_ipv4_mapped_ipv6',
      'internal_address_config',
      'delayed_close_timeout',
      'request_id_extension',
      'always_set_request_id_in_response',
      'local_reply_config',
      'stream_error_on_invalid_http_message',
      'request_headers_timeout',
      'path_normalization_options',
      'path_with_escaped_slashes_action',
      'original_ip_detection_extensions',
      'strip_trailing_host_dot',
      'scheme_header_transformation',
      'proxy_status_config',
      'typed_header_validation_config',
      'append_x_forwarded_port',
      'early_header_mutation_extensions',
      'add_proxy_protocol_connection_state',
      'access_log_flush_interval',
      'flush_access_log_on_new_request',
      'access_log_options',
      'append_local_overload',
    ],
  },
  {
    message: 'envoy.config.core.v3.HttpProtocolOptions',
    fields: [
      'max_connection_duration',
      'max_headers_count',
      'max_stream_duration',
      'headers_with_underscores_action',
      'max_requests_per_connection',
    ],
  },
  {
    message: 'envoy.config.core.v3.Http1ProtocolOptions',
    fields: [
      'allow_absolute_url',
      'header_key_format',
      'enable_trailers',
      'allow_chunked_length',
      'override_stream_error_on_invalid_http_message',
      'send_fully_qualified_url',
      'use_balsa_parser',
      'allow_custom_methods',
    ],
  },
  {
    message: HTTP_FILTER,
    fields: ['name'],
    when: (_, filter) => !IMPLEMENTED_HTTP_FILTERS.has(configTypeName(filter, 'HTTP filter') ?? ''),
    feature: (_, name) =>
      `the HTTP filter '${name}' (router, fault, cors, local_ratelimit and health_check are implemented)`,
  },
  {
    message: HTTP_FAULT,
    fields: ['response_rate_limit', 'response_rate_limit_percent_runtime', 'filter_metadata'],
  },
  {
    message: LOCAL_RATE_LIMIT,
    fields: [
      'descriptors',
      'stage',
      'local_rate_limit_per_downstream_connection',
      'vh_rate_limits',
      'always_consume_default_token_bucket',
      'rate_limited_as_resource_exhausted',
      'local_cluster_rate_limit',
    ],
  },
  { message: ROUTE_FILTER_CONFIG, fields: ['is_optional', 'disabled'] },
  { message: HTTP_FILTER, fields: ['config_discovery', 'is_optional', 'disabled'] },
  {
    message: ROUTER,
    fields: [
      'dynamic_stats',
      'start_child_span',
      'upstream_log',
      'strict_check_headers',
      'respect_expected_rq_timeout',
      'suppress_grpc_request_failure_code_stats',
      'upstream_http_filters',
      'upstream_log_options',
    ],
  },

  // Access logs
  {
    message: ACCESS_LOG,
    fields: ['name'],
    when: (_, log) =>
      ![FILE_ACCESS_LOG, STDOUT_ACCESS_LOG].includes(configTypeName(log, 'access logger') ?? ''),
    feature: (_, name) => `the access logger '${name}' (file and stdout are implemented)`,
  },
  { message: ACCESS_LOG, fields: ['filter'], feature: 'access log filters' },
  {
    message: FILE_ACCESS_LOG,
    fields: ['typed_json_format'],
    feature: (f) => `access log ${f} (use log_format.json_format)`,
  },
  {
    message: FORMAT_STRING,
    fields: ['omit_empty_values', 'content_type', 'formatters', 'json_format_options'],
  },

  // Routes
  {
    message: ROUTE_CONFIGURATION,
    fields: [
      'internal_only_headers',
      'vhds',
      'max_direct_response_body_size_bytes',
      'cluster_specifier_plugins',
      'ignore_port_in_host_matching',
      'ignore_path_parameters_in_path_matching',
    ],
  },
  { message: VIRTUAL_HOST, fields: ['retry_policy_typed_config'], feature: 'retry policy extensions' },
  {
    message: VIRTUAL_HOST,
    fields: [
      'require_tls',
      'virtual_clusters',
      'rate_limits',
      'hedge_policy',
      'matcher',
      'include_is_timeout_retry_header',
    ],
  },
  {
    message: ROUTE,
    fields: ['decorator', 'tracing', 'filter_action', 'non_forwarding_action', 'stat_prefix'],
  },
  {
    message: ROUTE_MATCH,
    fields: ['tls_context', 'dynamic_metadata', 'path_match_policy'],
  },
  { message: ROUTE_ACTION, fields: ['retry_policy_typed_config'], feature: 'retry policy extensions' },
  {
    message: RETRY_POLICY,
    fields: ['retry_host_predicate'],
    when: (predicates) =>
      (predicates as { name: string; typed_config?: { '@type': string } }[]).some(
        (p) => retryHostPredicateKind(p) === undefined,
      ),
    feature: 'retry host predicates other than previous_hosts and omit_canary_hosts',
  },
  {
    message: RETRY_POLICY,
    fields: [
      'retry_priority',
      'retry_options_predicates',
      'rate_limited_retry_back_off',
      'per_try_idle_timeout',
    ],
  },
  {
    message: ROUTE_ACTION,
    fields: [
      'rate_limits',
      'include_vh_rate_limits',
      'max_grpc_timeout',
      'upgrade_configs',
      'internal_redirect_action',
      'hedge_policy',
      'grpc_timeout_offset',
      'max_internal_redirects',
      'internal_redirect_policy',
      'host_rewrite_path_regex',
      'max_stream_duration',
      'cluster_specifier_plugin',
      'append_x_forwarded_host',
      'inline_cluster_specifier_plugin',
      'early_data_policy',
      'path_rewrite_policy',
    ],
  },
  { message: HASH_POLICY, fields: ['filter_state'], feature: 'hashing on filter state' },
  { message: WEIGHTED_CLUSTER, fields: ['header_name'] },
  { message: CLUSTER_WEIGHT, fields: ['typed_per_filter_config', 'host_rewrite_literal'] },

  // Clusters
  {
    message: CLUSTER,
    fields: ['type'],
    when: (v) => !['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS'].includes(String(v)),
    feature: (_, v) => `${v} clusters`,
  },
  { message: CLUSTER, fields: ['cluster_type'], feature: 'custom cluster types' },
  {
    message: CLUSTER,
    fields: ['lb_policy'],
    when: (v) => !['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'].includes(String(v)),
    feature: (_, v) => `lb_policy ${v}`,
  },
  { message: OUTLIER_DETECTION, fields: ['monitors'], feature: 'outlier detection monitor extensions' },
  { message: CLUSTER, fields: ['transport_socket_matches'], feature: 'transport socket matches' },
  {
    message: CLUSTER,
    fields: ['upstream_http_protocol_options'],
    feature: 'upstream_http_protocol_options (auto SNI and SAN validation)',
  },
  {
    message: CLUSTER,
    fields: ['typed_extension_protocol_options'],
    when: (options) => Object.keys(options as object).some((k) => !PROTOCOL_OPTIONS_KEYS.includes(k)),
    feature: (_, options) =>
      `typed_extension_protocol_options '${Object.keys(options as object).find((k) => !PROTOCOL_OPTIONS_KEYS.includes(k))}'`,
  },
  {
    message: UPSTREAM_HTTP_OPTIONS,
    fields: [
      'upstream_http_protocol_options',
      'use_downstream_protocol_config',
      'auto_config',
      'http_filters',
      'header_validation_config',
    ],
  },
  {
    message: `${UPSTREAM_HTTP_OPTIONS}.ExplicitHttpConfig`,
    fields: ['http3_protocol_options'],
    feature: 'HTTP/3',
  },
  {
    message: CLUSTER,
    fields: ['health_checks'],
    when: (checks, cluster) =>
      (checks as unknown[]).length > 0 &&
      cluster.transport_socket !== undefined &&
      configTypeName(cluster.transport_socket as Record_, 'upstream transport socket') === UPSTREAM_TLS,
    feature: 'active health checks of a TLS cluster (they would not use its transport socket)',
  },
  {
    message: CLUSTER,
    fields: [
      'http_protocol_options',
      'common_http_protocol_options',
      'dns_failure_refresh_rate',
      'dns_resolvers',
      'use_tcp_for_dns_lookups',
      'dns_resolution_config',
      'typed_dns_resolver_config',
      'wait_for_warm_on_init',
      'cleanup_interval',
      'upstream_bind_config',
      'original_dst_lb_config',
      'round_robin_lb_config',
      'load_balancing_policy',
      'lrs_server',
      'lrs_report_endpoint_metrics',
      'track_timeout_budgets',
      'upstream_config',
      'track_cluster_stats',
      'preconnect_policy',
      'connection_pool_per_downstream_connection',
      'filters',
      'protocol_selection',
      'upstream_connection_options',
      'close_connections_on_host_health_failure',
      'ignore_health_on_host_removal',
    ],
  },
  { message: CIRCUIT_BREAKERS, fields: ['per_host_thresholds'], feature: 'per-host circuit breakers' },
  { message: THRESHOLDS, fields: ['max_connection_pools'] },
  { message: COMMON_LB_CONFIG, fields: ['zone_aware_lb_config'], feature: 'zone-aware routing' },
  {
    message: COMMON_LB_CONFIG,
    fields: [
      'update_merge_window',
      'ignore_new_hosts_until_first_hc',
      'close_connections_on_host_set_change',
      'consistent_hashing_lb_config',
      'override_host_status',
    ],
  },
  { message: LEAST_REQUEST_CONFIG, fields: ['slow_start_config'], feature: 'slow start' },
  { message: ASSIGNMENT, fields: ['named_endpoints'] },
  {
    message: ASSIGNMENT_POLICY,
    fields: ['drop_overloads', 'endpoint_stale_after', 'weighted_priority_health'],
  },
  {
    message: LOCALITY_ENDPOINTS,
    fields: ['proximity', 'load_balancer_endpoints', 'leds_cluster_locality_config'],
  },
  { message: LB_ENDPOINT, fields: ['health_status', 'endpoint_name'] },
  { message: ENDPOINT, fields: ['health_check_config', 'additional_addresses'] },

  // Health checks
  { message: HEALTH_CHECK, fields: ['grpc_health_check'], feature: 'gRPC health checks' },
  { message: HEALTH_CHECK, fields: ['custom_health_check'], feature: 'custom health checkers' },
  {
    message: HEALTH_CHECK,
    fields: [
      'alt_port',
      'event_log_path',
      'tls_options',
      'event_service',
      'transport_socket_match_criteria',
      'event_logger',
    ],
  },
  {
    message: HTTP_HEALTH_CHECK,
    fields: ['codec_client_type'],
    when: (v) => v !== 'HTTP1',
    feature: (_, v) => `${v} health checks`,
  },
  {
    message: HTTP_HEALTH_CHECK,
    fields: [
      'send',
      'receive',
      'service_name_matcher',
      'retriable_statuses',
      'method',
      'response_buffer_size',
    ],
  },
  { message: TCP_HEALTH_CHECK, fields: ['proxy_protocol_config'] },
];

/** Proto3 default of a normalized field value: false, 0, "", an empty list, or the enum's zero value. */
function isDefault(field: Field | undefined, value: unknown): boolean {
  if (value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (field?.kind === 'enum' && typeof value === 'string')
    return envoyApi().enum(field.type)?.values[value] === 0;
  return false;
}

export interface UnsupportedFeature {
  /** Canonical field path, e.g. `static_resources.clusters[0].outlier_detection`. */
  path: string;
  /** What meshcraft-proxy does not implement, e.g. `outlier detection`. */
  feature: string;
}

const shortName = (name: string) => name.slice(name.lastIndexOf('.') + 1);

/** Everything in a normalized bootstrap that meshcraft-proxy does not implement yet, in config order. */
export function unsupportedFeatures(bootstrap: Bootstrap): UnsupportedFeature[] {
  return unsupportedIn(BOOTSTRAP, bootstrap);
}

function unsupportedIn(typeName: string, root: unknown): UnsupportedFeature[] {
  const found: UnsupportedFeature[] = [];
  visitMessages(typeName, root, '', ({ message, value, path }) => {
    for (const row of NOT_IMPLEMENTED) {
      if (row.message !== message.name) continue;
      for (const name of row.fields) {
        const fieldValue = value[name];
        if (fieldValue === undefined) continue;
        const fires = row.when
          ? row.when(fieldValue, value, name)
          : !isDefault(message.field(name), fieldValue);
        if (!fires) continue;
        const feature =
          typeof row.feature === 'function'
            ? row.feature(name, fieldValue, value)
            : (row.feature ?? `${shortName(message.name)}.${name}`);
        found.push({ path: path ? `${path}.${name}` : name, feature });
      }
    }
  });
  return found;
}

/**
 * Refuses an xDS resource (a Listener, Cluster, ...) that uses something meshcraft-proxy does not
 * implement yet, as the bootstrap's gate does; the subscription NACKs it with this message.
 */
export function assertResourceImplemented(typeName: string, resource: Record<string, unknown>): void {
  const [first, ...rest] = unsupportedIn(typeName, resource);
  if (!first) return;
  const others = rest.map((f) => `; ${f.path}: ${f.feature} is not implemented either`).join('');
  throw new ConfigError(`${first.feature} is not implemented by meshcraft-proxy yet${others}`, {
    fieldPath: first.path,
  });
}

/** Where a bootstrap came from, so the gate's message can give a line number. */
export type Locator = (fieldPath: string) => { file?: string; line?: number; column?: number } | undefined;
const locators = new WeakMap<object, Locator>();

/** @internal load.ts registers where each loaded bootstrap came from. */
export function registerLocator(bootstrap: object, locate: Locator): void {
  locators.set(bootstrap, locate);
}

/**
 * Refuses a bootstrap that uses something meshcraft-proxy does not implement yet, with a ConfigError
 * naming the first such field and listing the others.
 */
export function assertImplemented(bootstrap: Bootstrap): void {
  const [first, ...rest] = unsupportedFeatures(bootstrap);
  if (!first) return;
  const locate = locators.get(bootstrap) ?? (() => undefined);
  const others = rest.map(
    (f) =>
      `\n  ${formatLocated(`${f.feature} is not implemented either`, { fieldPath: f.path, ...locate(f.path) })}`,
  );
  throw new ConfigError(`${first.feature} is not implemented by meshcraft-proxy yet${others.join('')}`, {
    fieldPath: first.path,
    ...locate(first.path),
  });
}
