/**
 * The Lab document: what a person draws, saved as YAML, shared by the server and the web app.
 *
 * Structure in one breath: `spec.nodes` are the boxes (front proxies, services with optional
 * sidecars, clusters, clients, control planes), `spec.edges` are the arrows (route: a proxy's
 * route or TCP/UDP listener → a cluster; membership: cluster → service endpoints; egress: an app →
 * its sidecar's egress listener → a cluster). Everything Envoy-specific that has no box or arrow
 * lives as a field of the node it configures, named after Envoy's own field in camelCase, so a
 * learner finds `unhealthyThreshold` in the form and `unhealthy_threshold` in the rendered YAML.
 *
 * The schema has no defaults: a saved lab holds only what the person set, and the renderer applies
 * Envoy's (and the course's) defaults. `z.input` and `z.output` therefore coincide.
 * Browser-safe: no Node imports.
 */
import { z } from 'zod';
import {
  CONTAINER_PATH_PATTERN,
  CONTAINER_PATH_RULE,
  DNS_NAME_PATTERN,
  DNS_NAME_RULE,
  DURATION_PATTERN,
  DURATION_RULE,
  ENV_NAME_PATTERN,
  ENVOY_NAME_PATTERN,
  ENVOY_NAME_RULE,
  ID_PATTERN,
  ID_RULE,
  IPV4_PATTERN,
  LAB_NAME_PATTERN,
  LAB_NAME_RULE,
} from './names.js';

/** The apiVersion this package writes. Older ones are migrated on parse; newer ones are refused. */
export const API_VERSION = 'meshcraft.io/v1alpha1';
export const API_GROUP = 'meshcraft.io';

/** Longest free text (descriptions, bodies) a lab may carry; keeps a lab file small and a page fast. */
const TEXT_MAX = 20_000;

const id = z.string().regex(ID_PATTERN, { error: `must be ${ID_RULE}` });
const dnsName = z.string().regex(DNS_NAME_PATTERN, { error: `must be ${DNS_NAME_RULE}` });
const envoyName = z.string().regex(ENVOY_NAME_PATTERN, { error: `must be ${ENVOY_NAME_RULE}` });
const ipv4 = z.string().regex(IPV4_PATTERN, { error: 'must be an IPv4 address such as 172.31.18.11' });
const port = z
  .number({ error: 'must be a port number' })
  .int({ error: 'must be a whole number' })
  .min(1, { error: 'must be a port number from 1 to 65535' })
  .max(65535, { error: 'must be a port number from 1 to 65535' });
const duration = z.string().regex(DURATION_PATTERN, { error: `must be ${DURATION_RULE}` });
const containerPath = z
  .string()
  .max(512)
  .regex(CONTAINER_PATH_PATTERN, { error: `must be ${CONTAINER_PATH_RULE}` });
const text = z.string().max(TEXT_MAX, { error: `is longer than ${TEXT_MAX} characters` });
const shortText = z.string().max(1024, { error: 'is longer than 1024 characters' });
const uint = z.number().int().min(0);
const percent = z.number().min(0).max(100);
/** Free-form Envoy JSON (escape hatches): any JSON value, checked for size by the parser. */
const json: z.ZodType<unknown> = z.unknown();
const jsonObject = z.record(z.string(), json);
/** `envoy.lb` metadata values: what the course's subset labs use (strings, numbers, booleans). */
const metadataValue = z.union([z.string().max(256), z.number(), z.boolean()]);
const metadata = z.record(z.string().regex(ENVOY_NAME_PATTERN), metadataValue);

export const Position = z.strictObject({ x: z.number(), y: z.number() });

// ---------------------------------------------------------------------------------------------
// Matching and routing

const stringMatchFields = {
  exact: shortText.optional(),
  prefix: shortText.optional(),
  suffix: shortText.optional(),
  contains: shortText.optional(),
  /** RE2 syntax, as Envoy's `safe_regex`. */
  regex: shortText.optional(),
  present: z.boolean().optional(),
  ignoreCase: z.boolean().optional(),
};

export const HeaderMatch = z.strictObject({
  name: z.string().min(1).max(256),
  ...stringMatchFields,
  invert: z.boolean().optional(),
});

export const QueryParameterMatch = z.strictObject({
  name: z.string().min(1).max(256),
  ...stringMatchFields,
});

export const RouteMatch = z.strictObject({
  prefix: shortText.optional(),
  path: shortText.optional(),
  /** RE2 regex over the path, Envoy's `safe_regex`. */
  regex: shortText.optional(),
  caseSensitive: z.boolean().optional(),
  headers: z.array(HeaderMatch).max(64).optional(),
  queryParameters: z.array(QueryParameterMatch).max(64).optional(),
});

export const HashPolicy = z.strictObject({
  header: z.string().min(1).max(256).optional(),
  sourceIp: z.boolean().optional(),
  cookie: z
    .strictObject({ name: z.string().min(1).max(256), ttl: duration.optional(), path: shortText.optional() })
    .optional(),
  queryParameter: z.string().min(1).max(256).optional(),
  terminal: z.boolean().optional(),
});

export const Redirect = z.strictObject({
  httpsRedirect: z.boolean().optional(),
  scheme: z
    .string()
    .regex(/^[a-z][a-z0-9+.-]*$/)
    .optional(),
  host: shortText.optional(),
  port: port.optional(),
  path: shortText.optional(),
  prefix: shortText.optional(),
  code: z.union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)]).optional(),
  stripQuery: z.boolean().optional(),
});

export const DirectResponse = z.strictObject({
  status: z.number().int().min(200).max(599),
  body: text.optional(),
});

export const RetryPolicy = z.strictObject({
  retryOn: z
    .string()
    .regex(/^[a-z0-9-]+(,[a-z0-9-]+)*$/, { error: 'must be Envoy retry_on values separated by commas' }),
  numRetries: uint.max(100).optional(),
  perTryTimeout: duration.optional(),
  retriableStatusCodes: z.array(z.number().int().min(100).max(599)).max(32).optional(),
});

/**
 * One route of a virtual host. Its action is the one field present among `redirect`,
 * `directResponse` and `local`; with none of them it forwards to the clusters its route edges
 * point at (one edge: `cluster`; several: `weighted_clusters`).
 */
export const Route = z.strictObject({
  /** Unique within the proxy; route edges refer to it. */
  id,
  name: envoyName.optional(),
  match: RouteMatch,
  redirect: Redirect.optional(),
  directResponse: DirectResponse.optional(),
  /** Sidecar only: forward to the app in the same network namespace. */
  local: z.boolean().optional(),
  hashPolicy: z.array(HashPolicy).max(16).optional(),
  /** Subset selection (`metadata_match.filter_metadata["envoy.lb"]`). */
  metadataMatch: metadata.optional(),
  /** Weighted split: the sum the edge weights must reach (Envoy's default: their sum). */
  totalWeight: z.number().int().min(1).optional(),
  /** Weighted split: runtime keys `<prefix>.<cluster>` override the weights, for live sliders. */
  runtimeKeyPrefix: envoyName.optional(),
  timeout: duration.optional(),
  prefixRewrite: shortText.optional(),
  hostRewrite: shortText.optional(),
  retry: RetryPolicy.optional(),
});

export const VirtualHost = z.strictObject({
  name: envoyName,
  domains: z
    .array(
      z
        .string()
        .min(1)
        .max(253)
        .regex(/^[^\s]+$/),
    )
    .min(1)
    .max(64),
  routes: z.array(Route).max(256),
});

// ---------------------------------------------------------------------------------------------
// TLS

/** A file inside the proxy's container, or inline PEM text. */
export const DataSource = z.union([
  z.strictObject({ file: containerPath }),
  z.strictObject({ inline: text }),
]);

export const TlsCertificate = z.strictObject({ certificateChain: DataSource, privateKey: DataSource });

export const DownstreamTls = z.strictObject({
  certificates: z.array(TlsCertificate).max(8).optional(),
  /** Names of `secrets` of this proxy holding the certificate (Envoy's `tls_certificate_sds_secret_configs`). */
  certificateSecrets: z.array(envoyName).max(8).optional(),
  requireClientCertificate: z.boolean().optional(),
  trustedCa: DataSource.optional(),
  validationSecret: envoyName.optional(),
  alpn: z.array(z.string().min(1).max(32)).max(8).optional(),
});

export const UpstreamTls = z.strictObject({
  sni: shortText.optional(),
  certificates: z.array(TlsCertificate).max(8).optional(),
  certificateSecrets: z.array(envoyName).max(8).optional(),
  trustedCa: DataSource.optional(),
  validationSecret: envoyName.optional(),
  alpn: z.array(z.string().min(1).max(32)).max(8).optional(),
});

export const Secret = z.strictObject({
  name: envoyName,
  certificate: TlsCertificate.optional(),
  trustedCa: DataSource.optional(),
});

// ---------------------------------------------------------------------------------------------
// Clusters

export const HealthCheck = z.strictObject({
  timeout: duration,
  interval: duration,
  unhealthyThreshold: z.number().int().min(1).max(1000),
  healthyThreshold: z.number().int().min(1).max(1000),
  intervalJitter: duration.optional(),
  noTrafficInterval: duration.optional(),
  unhealthyInterval: duration.optional(),
  http: z
    .strictObject({
      path: z.string().min(1).max(1024).regex(/^\//, { error: 'must start with "/"' }),
      host: shortText.optional(),
      /** Status ranges, start inclusive, end exclusive (Envoy's Int64Range). */
      expectedStatuses: z
        .array(
          z.strictObject({
            start: z.number().int().min(100).max(600),
            end: z.number().int().min(101).max(600),
          }),
        )
        .max(16)
        .optional(),
    })
    .optional(),
  tcp: z
    .strictObject({
      /** Hex bytes to send, as Envoy's `send.text`. */
      send: z
        .string()
        .regex(/^([0-9a-fA-F]{2})*$/)
        .max(2048)
        .optional(),
      receive: z
        .array(
          z
            .string()
            .regex(/^([0-9a-fA-F]{2})*$/)
            .max(2048),
        )
        .max(16)
        .optional(),
    })
    .optional(),
});

export const OutlierDetection = z.strictObject({
  consecutive5xx: uint.optional(),
  consecutiveGatewayFailure: uint.optional(),
  consecutiveLocalOriginFailure: uint.optional(),
  interval: duration.optional(),
  baseEjectionTime: duration.optional(),
  maxEjectionTime: duration.optional(),
  maxEjectionPercent: percent.optional(),
  enforcingConsecutive5xx: percent.optional(),
  enforcingConsecutiveGatewayFailure: percent.optional(),
  enforcingConsecutiveLocalOriginFailure: percent.optional(),
  enforcingSuccessRate: percent.optional(),
  successRateMinimumHosts: uint.optional(),
  successRateRequestVolume: uint.optional(),
  successRateStdevFactor: uint.optional(),
  failurePercentageThreshold: percent.optional(),
  enforcingFailurePercentage: percent.optional(),
  failurePercentageMinimumHosts: uint.optional(),
  failurePercentageRequestVolume: uint.optional(),
  splitExternalLocalOriginErrors: z.boolean().optional(),
});

export const CircuitBreakerThresholds = z.strictObject({
  priority: z.enum(['DEFAULT', 'HIGH']).optional(),
  maxConnections: uint.optional(),
  maxPendingRequests: uint.optional(),
  maxRequests: uint.optional(),
  maxRetries: uint.optional(),
  trackRemaining: z.boolean().optional(),
});
export const CircuitBreakers = z.array(CircuitBreakerThresholds).max(2);

export const LbSubsets = z.strictObject({
  fallbackPolicy: z.enum(['NO_FALLBACK', 'ANY_ENDPOINT', 'DEFAULT_SUBSET']).optional(),
  defaultSubset: metadata.optional(),
  selectors: z
    .array(
      z.strictObject({
        keys: z.array(z.string().regex(ENVOY_NAME_PATTERN)).min(1).max(16),
        fallbackPolicy: z
          .enum(['NOT_DEFINED', 'NO_FALLBACK', 'ANY_ENDPOINT', 'DEFAULT_SUBSET', 'KEYS_SUBSET'])
          .optional(),
      }),
    )
    .max(32),
  localityWeightAware: z.boolean().optional(),
  panicModeAny: z.boolean().optional(),
});

/** An endpoint outside the lab (a name or IP the cluster reaches directly). */
export const ExternalEndpoint = z.strictObject({
  address: z.union([ipv4, dnsName]),
  port,
  weight: z.number().int().min(1).optional(),
  priority: z.number().int().min(0).max(127).optional(),
});

export const Discovery = z.enum(['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS']);
export const LbPolicy = z.enum(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV']);

// ---------------------------------------------------------------------------------------------
// Listeners and proxies

export const ListenerProtocol = z.enum(['http', 'tcp', 'udp']);

export const Listener = z.strictObject({
  name: envoyName,
  /** Bind address; default 0.0.0.0, or 127.0.0.1 for a sidecar's egress listener. */
  address: ipv4.optional(),
  port,
  /** `http` (default): http_connection_manager; `tcp`: tcp_proxy; `udp`: udp_proxy. */
  protocol: ListenerProtocol.optional(),
  statPrefix: envoyName.optional(),
  codec: z.enum(['auto', 'http1', 'http2']).optional(),
  /** HTTP access log to the proxy's stdout (`true`) or to a file. */
  accessLog: z.union([z.boolean(), containerPath]).optional(),
  generateRequestId: z.boolean().optional(),
  useRemoteAddress: z.boolean().optional(),
  routeConfigName: envoyName.optional(),
  virtualHosts: z.array(VirtualHost).max(64).optional(),
  /** TCP/UDP listeners of a sidecar: forward to the app in the same network namespace. */
  local: z.boolean().optional(),
  tls: DownstreamTls.optional(),
  /** Envoy Listener fields merged over the rendered listener (escape hatch for unmodelled fields). */
  extra: jsonObject.optional(),
});

export const Admin = z.strictObject({
  address: ipv4.optional(),
  port,
  accessLogPath: containerPath.optional(),
  profilePath: containerPath.optional(),
});

export const RuntimeLayer = z.union([
  z.strictObject({ name: envoyName, static: jsonObject }),
  z.strictObject({ name: envoyName, admin: z.literal(true) }),
]);

/**
 * How a proxy gets its listeners and clusters: in its bootstrap (`static`), from watched files
 * (`filesystem`: LDS/CDS paths), or from a control plane node over gRPC (`grpc`: LDS+CDS streams;
 * `ads`: one aggregated stream).
 */
export const Delivery = z.strictObject({
  mode: z.enum(['static', 'filesystem', 'grpc', 'ads']),
  controlPlane: id.optional(),
});

/** Certificates of the lab's PKI mounted into a proxy's container, at the course's paths. */
export const TlsFiles = z.strictObject({
  /** Name of a `spec.pki.certificates` entry: mounted at /etc/envoy/certs/ (server.crt/key, client.crt/key). */
  identity: id.optional(),
  /** Mount the lab CA at /etc/envoy/ca/ca.crt. */
  ca: z.boolean().optional(),
});

export const RawBootstrap = z.strictObject({
  /** `merge`: deep-merged over the structured rendering (lists of named things merge by name); `replace`: used as is. */
  mode: z.enum(['merge', 'replace']),
  bootstrap: jsonObject,
});

const proxyFields = {
  admin: Admin.optional(),
  /** Envoy `node` identity; default id and cluster: the container name. */
  envoyNode: z.strictObject({ id: shortText.optional(), cluster: shortText.optional() }).optional(),
  runtime: z.array(RuntimeLayer).max(16).optional(),
  secrets: z.array(Secret).max(32).optional(),
  /** Ids of cluster nodes this proxy defines even though no edge of its listeners uses them. */
  clusters: z.array(id).max(256).optional(),
  delivery: Delivery.optional(),
  tlsFiles: TlsFiles.optional(),
  /** Full Envoy bootstrap replacing or merged over the structured fields. */
  raw: RawBootstrap.optional(),
  containerName: id.optional(),
};

export const LocalCluster = z.strictObject({
  name: envoyName.optional(),
  discovery: z.enum(['STATIC', 'STRICT_DNS']).optional(),
  connectTimeout: duration.optional(),
  lbPolicy: z.enum(['ROUND_ROBIN', 'RANDOM']).optional(),
  circuitBreakers: CircuitBreakers.optional(),
  extra: jsonObject.optional(),
});

export const Sidecar = z.strictObject({
  ...proxyFields,
  ingress: z.array(Listener).max(32).optional(),
  egress: z.array(Listener).max(32).optional(),
  /** The cluster behind `local` routes: the app on 127.0.0.1 and its port. */
  localCluster: LocalCluster.optional(),
});

// ---------------------------------------------------------------------------------------------
// Nodes

const position = {
  position: Position.optional(),
  label: z.string().max(128).optional(),
  notes: text.optional(),
};

/** Fields of nodes that own a network namespace (a container with an address on the lab network). */
const namespaceFields = {
  hostname: dnsName.optional(),
  aliases: z.array(dnsName).max(32).optional(),
  /** Fixed address on the lab network (inside `spec.network.subnet`). */
  ip: ipv4.optional(),
  /** Host ports an exported compose project publishes, as the course's `ports:` did. */
  hostPorts: z
    .array(z.strictObject({ host: port, container: port, protocol: z.enum(['tcp', 'udp']).optional() }))
    .max(32)
    .optional(),
};

export const FrontProxyNode = z.strictObject({
  kind: z.literal('frontProxy'),
  id,
  ...namespaceFields,
  ...proxyFields,
  listeners: z.array(Listener).max(64),
  ...position,
});

export const DemoApp = z.strictObject({
  role: z.literal('demoapp'),
  /** `VERSION`, and the ikubernetes/demoapp tag on real images (v1.0, v1.1, v1.2). */
  version: z
    .string()
    .regex(/^v\d+(\.\d+){0,2}$/)
    .optional(),
  /** Listening port; default 8080 behind a sidecar, 80 otherwise. */
  port: port.optional(),
  /** Bind address; default 127.0.0.1 behind a sidecar, 0.0.0.0 otherwise. */
  host: ipv4.optional(),
  /**
   * Also listen for UDP datagrams on this port (`UDP_PORT`) and log each one, as the UDP service
   * of the course's udp-proxy example does; clusters then reach the service on it by default.
   */
  udpPort: port.optional(),
  /** Enables servicemesh-app style `/service/*` answers. */
  serviceName: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_.-]+$/)
    .optional(),
  env: z.record(z.string().regex(ENV_NAME_PATTERN), z.string().max(4096)).optional(),
  containerName: id.optional(),
});

/** An image meshcraft has no equivalent for; kept so nothing imported is lost, flagged so nobody expects it to run offline. */
export const ExternalApp = z.strictObject({
  role: z.literal('image'),
  image: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[a-z0-9][a-z0-9._/:@-]*$/),
  command: z.array(z.string().max(4096)).max(64).optional(),
  port: port.optional(),
  protocol: z.enum(['tcp', 'udp']).optional(),
  env: z.record(z.string().regex(ENV_NAME_PATTERN), z.string().max(4096)).optional(),
  /** Why it cannot run offline, shown to the person. */
  why: shortText.optional(),
  containerName: id.optional(),
});

export const App = z.discriminatedUnion('role', [DemoApp, ExternalApp]);

export const ServiceNode = z.strictObject({
  kind: z.literal('service'),
  id,
  ...namespaceFields,
  replicas: z.number().int().min(1).max(32).optional(),
  app: App,
  sidecar: Sidecar.optional(),
  /** Which container owns the network namespace the pair shares (course pattern A: the sidecar; B: the app). */
  netnsOwner: z.enum(['sidecar', 'app']).optional(),
  ...position,
});

export const ClusterNode = z.strictObject({
  kind: z.literal('cluster'),
  id,
  /** Envoy cluster name; default the node id. */
  name: envoyName.optional(),
  discovery: Discovery,
  /** EDS only: the file the proxy watches (default /etc/envoy/eds.conf.d/<name>.yaml); with a control plane, EDS comes from it. */
  edsPath: containerPath.optional(),
  lbPolicy: LbPolicy.optional(),
  connectTimeout: duration.optional(),
  /** Upstream protocol; `http2` is h2c or ALPN h2 (Envoy's explicit http2_protocol_options). */
  protocol: z.enum(['http1', 'http2']).optional(),
  dnsLookupFamily: z.enum(['AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL']).optional(),
  dnsRefreshRate: duration.optional(),
  leastRequest: z.strictObject({ choiceCount: z.number().int().min(2).max(100).optional() }).optional(),
  ringHash: z
    .strictObject({
      minimumRingSize: z.number().int().min(1).max(8_388_608).optional(),
      maximumRingSize: z.number().int().min(1).max(8_388_608).optional(),
      hashFunction: z.enum(['XX_HASH', 'MURMUR_HASH_2']).optional(),
    })
    .optional(),
  maglev: z.strictObject({ tableSize: z.number().int().min(1).max(5_000_011).optional() }).optional(),
  overprovisioningFactor: z.number().int().min(1).max(10_000).optional(),
  healthyPanicThreshold: percent.optional(),
  localityWeighted: z.boolean().optional(),
  healthChecks: z.array(HealthCheck).max(8).optional(),
  outlierDetection: OutlierDetection.optional(),
  circuitBreakers: CircuitBreakers.optional(),
  subsets: LbSubsets.optional(),
  tls: UpstreamTls.optional(),
  endpoints: z.array(ExternalEndpoint).max(256).optional(),
  extra: jsonObject.optional(),
  ...position,
});

export const ClientNode = z.strictObject({
  kind: z.literal('client'),
  id,
  ...namespaceFields,
  /** `toolbox`: a shell with curl (the course's admin-toolbox); `loadgen`: where the console's load generator sends from. */
  tool: z.enum(['toolbox', 'loadgen']),
  sidecar: Sidecar.optional(),
  containerName: id.optional(),
  /** Default target of the console's load generator. */
  load: z
    .strictObject({
      node: id,
      listener: envoyName,
      path: shortText.optional(),
      rate: z.number().min(0).max(100_000).optional(),
      concurrency: z.number().int().min(1).max(1000).optional(),
      headers: z.record(z.string().min(1).max(256), z.string().max(4096)).optional(),
      userAgents: z.array(z.string().max(512)).max(64).optional(),
    })
    .optional(),
  netnsOwner: z.enum(['sidecar', 'app']).optional(),
  ...position,
});

export const ControlPlaneNode = z.strictObject({
  kind: z.literal('controlPlane'),
  id,
  ...namespaceFields,
  port: port.optional(),
  containerName: id.optional(),
  ...position,
});

export const LabNodeSchema = z.discriminatedUnion('kind', [
  FrontProxyNode,
  ServiceNode,
  ClusterNode,
  ClientNode,
  ControlPlaneNode,
]);

// ---------------------------------------------------------------------------------------------
// Edges

export const Locality = z.strictObject({
  region: z.string().max(128).optional(),
  zone: z.string().max(128).optional(),
  subZone: z.string().max(128).optional(),
});

/** A proxy's route (HTTP) or listener (TCP/UDP) → a cluster. */
export const RouteEdge = z.strictObject({
  kind: z.literal('route'),
  id,
  from: z.strictObject({ node: id, route: id.optional(), listener: envoyName.optional() }),
  to: id,
  /** Share of a weighted split when several edges leave one route. */
  weight: z.number().int().min(0).max(1_000_000).optional(),
  metadataMatch: metadata.optional(),
});

/** An app → its sidecar's egress listener (route) → a cluster. */
export const EgressEdge = z.strictObject({
  kind: z.literal('egress'),
  id,
  from: z.strictObject({ node: id, route: id.optional(), listener: envoyName.optional() }),
  to: id,
  weight: z.number().int().min(0).max(1_000_000).optional(),
  metadataMatch: metadata.optional(),
});

/** A cluster → a service whose replicas become its endpoints. */
export const MembershipEdge = z.strictObject({
  kind: z.literal('membership'),
  id,
  from: id,
  to: id,
  /** Port the cluster connects to; default the service's sidecar ingress port, else its app port. */
  port: port.optional(),
  /** DNS clusters: the name to resolve (a shared name fans out to every member that carries it); default the service id. */
  dnsName: dnsName.optional(),
  weight: z.number().int().min(1).max(128).optional(),
  priority: z.number().int().min(0).max(127).optional(),
  locality: Locality.optional(),
  localityWeight: z.number().int().min(1).max(1_000_000).optional(),
  metadata: metadata.optional(),
});

export const LabEdgeSchema = z.discriminatedUnion('kind', [RouteEdge, EgressEdge, MembershipEdge]);

// ---------------------------------------------------------------------------------------------
// Document

/** A console action a "try this" step can offer as a button. */
export const StepAction = z.union([
  z.strictObject({
    setProbe: z.strictObject({
      node: id,
      replica: z.number().int().min(1).optional(),
      probe: z.enum(['livez', 'readyz']),
      value: z.enum(['OK', 'FAIL']),
    }),
  }),
  z.strictObject({
    send: z.strictObject({
      node: id,
      listener: envoyName,
      path: shortText.optional(),
      count: z.number().int().min(1).max(100_000).optional(),
      concurrency: z.number().int().min(1).max(1000).optional(),
      headers: z.record(z.string().min(1).max(256), z.string().max(4096)).optional(),
    }),
  }),
  z.strictObject({
    runtimeModify: z.strictObject({
      node: id,
      values: z.record(z.string().min(1).max(256), z.string().max(256)),
    }),
  }),
  z.strictObject({ healthcheck: z.strictObject({ node: id, value: z.enum(['fail', 'ok']) }) }),
  z.strictObject({ admin: z.strictObject({ node: id, path: z.string().regex(/^\/[A-Za-z0-9_/?=&.%-]*$/) }) }),
]);

export const Step = z.strictObject({
  /** What to do, in a sentence. */
  say: text,
  /** The command as the course ran it (with the lab's addresses). */
  command: shortText.optional(),
  action: StepAction.optional(),
  /** What the course's output showed. */
  expect: text.optional(),
});

export const LabMetadataSchema = z.strictObject({
  name: z.string().regex(LAB_NAME_PATTERN, { error: `must be ${LAB_NAME_RULE}` }),
  title: z.string().min(1).max(200),
  description: text.optional(),
  tryThis: z.array(Step).max(64).optional(),
  observe: z.array(text).max(64).optional(),
  /** Where the lab comes from in the course material. */
  source: z
    .strictObject({ reference: shortText, section: shortText.optional(), notes: text.optional() })
    .optional(),
  tags: z
    .array(z.string().regex(/^[a-z0-9-]{1,32}$/))
    .max(16)
    .optional(),
});

export const Pki = z.strictObject({
  caCommonName: z.string().min(1).max(64).optional(),
  certificates: z
    .array(
      z.strictObject({
        name: id,
        commonName: z.string().min(1).max(64).optional(),
        server: z.boolean().optional(),
        client: z.boolean().optional(),
      }),
    )
    .max(32),
});

export const LabSpecSchema = z.strictObject({
  network: z
    .strictObject({
      name: dnsName.optional(),
      subnet: z
        .string()
        .regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, {
          error: 'must be an IPv4 CIDR block such as 172.31.18.0/24',
        })
        .optional(),
    })
    .optional(),
  pki: Pki.optional(),
  nodes: z.array(LabNodeSchema).max(500),
  edges: z.array(LabEdgeSchema).max(2000),
});

export const LabViewSchema = z.strictObject({
  viewport: z.strictObject({ x: z.number(), y: z.number(), zoom: z.number().positive() }).optional(),
  /** Editor state the web app keeps (selection, panels); opaque to everything else. */
  ui: jsonObject.optional(),
});

export const LabSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Lab'),
  metadata: LabMetadataSchema,
  spec: LabSpecSchema,
  view: LabViewSchema.optional(),
});

export type Lab = z.infer<typeof LabSchema>;
export type LabNode = z.infer<typeof LabNodeSchema>;
export type LabEdge = z.infer<typeof LabEdgeSchema>;
export type FrontProxyNode = z.infer<typeof FrontProxyNode>;
export type ServiceNode = z.infer<typeof ServiceNode>;
export type ClusterNode = z.infer<typeof ClusterNode>;
export type ClientNode = z.infer<typeof ClientNode>;
export type ControlPlaneNode = z.infer<typeof ControlPlaneNode>;
export type SidecarSpec = z.infer<typeof Sidecar>;
export type ListenerSpec = z.infer<typeof Listener>;
export type VirtualHostSpec = z.infer<typeof VirtualHost>;
export type RouteSpec = z.infer<typeof Route>;
export type RouteMatchSpec = z.infer<typeof RouteMatch>;
export type HeaderMatchSpec = z.infer<typeof HeaderMatch>;
export type QueryParameterMatchSpec = z.infer<typeof QueryParameterMatch>;
export type HashPolicySpec = z.infer<typeof HashPolicy>;
export type RedirectSpec = z.infer<typeof Redirect>;
export type HealthCheckSpec = z.infer<typeof HealthCheck>;
export type OutlierDetectionSpec = z.infer<typeof OutlierDetection>;
export type CircuitBreakerThresholdsSpec = z.infer<typeof CircuitBreakerThresholds>;
export type LbSubsetsSpec = z.infer<typeof LbSubsets>;
export type DataSourceSpec = z.infer<typeof DataSource>;
export type TlsCertificateSpec = z.infer<typeof TlsCertificate>;
export type DownstreamTlsSpec = z.infer<typeof DownstreamTls>;
export type UpstreamTlsSpec = z.infer<typeof UpstreamTls>;
export type SecretSpec = z.infer<typeof Secret>;
export type AdminSpec = z.infer<typeof Admin>;
export type RuntimeLayerSpec = z.infer<typeof RuntimeLayer>;
export type DeliverySpec = z.infer<typeof Delivery>;
export type LocalClusterSpec = z.infer<typeof LocalCluster>;
export type AppSpec = z.infer<typeof App>;
export type RouteEdge = z.infer<typeof RouteEdge>;
export type EgressEdge = z.infer<typeof EgressEdge>;
export type MembershipEdge = z.infer<typeof MembershipEdge>;
export type LocalitySpec = z.infer<typeof Locality>;
export type StepSpec = z.infer<typeof Step>;
export type LabMetadata = z.infer<typeof LabMetadataSchema>;
export type PkiSpec = z.infer<typeof Pki>;
export type NodeKind = LabNode['kind'];
export type EdgeKind = LabEdge['kind'];

/** Nodes that carry an Envoy proxy config: front proxies, and services or clients with a sidecar. */
export type ProxyHost = FrontProxyNode | ((ServiceNode | ClientNode) & { sidecar: SidecarSpec });
