/**
 * What other packages use of meshcraft-proxy as a library: Envoy's configuration model (validation
 * and normalization against Envoy's protos) and the xDS wire format. The control plane
 * (@meshcraft/xds-server) validates and encodes the resources it serves with these, so it speaks
 * exactly the API the proxy reads. The lab runtime makes TLS labs' certificates with
 * `generateLabCertificates` (the course's gencerts.sh). The proxy itself is run as a program
 * (bin/meshcraft-proxy.js).
 */
export { ConfigError, loadDiscoveryResponseFile, normalizeResource } from './config/index.js';
export type * from './config/types.js';
export {
  generateLabCertificates,
  type IssuedCertificate,
  type LabCertificateOptions,
  type LabCertificateRequest,
  type LabPki,
  type LabPkiRequest,
} from './tls/cert-gen.js';
export {
  ADS_PATH,
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  DISCOVERY_REQUEST,
  DISCOVERY_RESPONSE,
  grpcPath,
  LISTENER,
  ROUTE_CONFIGURATION,
  resourceName,
  typeNameOf,
  typeUrl,
  XDS_TYPES,
} from './xds/resources.js';
export { decodeEnvelope, decodeMessage, encodeMessage, type PackedAny } from './xds/wire.js';
