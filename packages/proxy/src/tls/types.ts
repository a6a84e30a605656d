/**
 * Envoy's TLS transport socket configuration (`envoy.extensions.transport_sockets.tls.v3`), as the
 * config loader normalizes it: the fields meshcraft-proxy reads. The feature gate refuses the ones
 * it does not implement, so what is not here is not set.
 */
import type {
  CertificateValidationContext,
  DataSource,
  StringMatcher,
  TlsCertificate,
} from '../config/types.js';

export const DOWNSTREAM_TLS_CONTEXT = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const UPSTREAM_TLS_CONTEXT = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

export type TlsProtocol = 'TLS_AUTO' | 'TLSv1_0' | 'TLSv1_1' | 'TLSv1_2' | 'TLSv1_3';

export interface TlsParameters {
  tls_minimum_protocol_version?: TlsProtocol;
  tls_maximum_protocol_version?: TlsProtocol;
  cipher_suites?: string[];
  ecdh_curves?: string[];
}

/** A secret by name: `static_resources.secrets` when there is no `sds_config` (the gate refuses SDS). */
export interface SdsSecretConfig {
  name: string;
}

export interface SubjectAltNameMatcher {
  san_type: 'SAN_TYPE_UNSPECIFIED' | 'EMAIL' | 'DNS' | 'URI' | 'IP_ADDRESS' | 'OTHER_NAME';
  matcher: StringMatcher;
}

export interface TlsValidationContext extends CertificateValidationContext {
  match_typed_subject_alt_names?: SubjectAltNameMatcher[];
  /** Deprecated: matched against every SAN type. */
  match_subject_alt_names?: StringMatcher[];
}

export interface CommonTlsContext {
  tls_params?: TlsParameters;
  tls_certificates?: (TlsCertificate & { pkcs12?: DataSource })[];
  tls_certificate_sds_secret_configs?: SdsSecretConfig[];
  validation_context?: TlsValidationContext;
  validation_context_sds_secret_config?: SdsSecretConfig;
  combined_validation_context?: {
    default_validation_context?: TlsValidationContext;
    validation_context_sds_secret_config?: SdsSecretConfig;
  };
  alpn_protocols?: string[];
}

export interface DownstreamTlsContext {
  common_tls_context?: CommonTlsContext;
  require_client_certificate?: boolean;
  disable_stateless_session_resumption?: boolean;
  session_timeout?: string;
  prefer_client_ciphers?: boolean;
}

export interface UpstreamTlsContext {
  common_tls_context?: CommonTlsContext;
  sni?: string;
}
