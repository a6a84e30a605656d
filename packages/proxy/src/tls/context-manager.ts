/**
 * The TLS context manager (Envoy's ContextManagerImpl with the static part of its SecretManager):
 * builds the TLS contexts of listeners' filter chains and clusters from their transport sockets,
 * resolves secrets named by SDS configs from `static_resources.secrets`, and keeps every live
 * context, in creation order, for `/certs` and `server.days_until_first_cert_expiring`.
 */
import type { TLSSocket } from 'node:tls';
import type { Secret, TransportSocket } from '../config/types.js';
import type { Scope } from '../stats/store.js';
import {
  type CertificateReport,
  ClientTlsContext,
  loadCertificate,
  loadValidation,
  RAW_BUFFER_TRANSPORT,
  type ResolvedTlsMaterial,
  ServerTlsContext,
  TlsConfigError,
  TlsStats,
  type UpstreamTransport,
} from './context.js';
import {
  type CommonTlsContext,
  DOWNSTREAM_TLS_CONTEXT,
  type DownstreamTlsContext,
  type TlsValidationContext,
  UPSTREAM_TLS_CONTEXT,
  type UpstreamTlsContext,
} from './types.js';

const RAW_BUFFER = 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
const TLS_NAMES = ['envoy.transport_sockets.tls', 'tls'];

/** Which TLS context a transport socket configures, if any (raw_buffer and none are plain TCP). */
function tlsConfigOf<T>(socket: TransportSocket | undefined, type: string): T | undefined {
  if (!socket) return undefined;
  const typeUrl = socket.typed_config?.['@type'];
  const typeName = typeUrl?.slice(typeUrl.lastIndexOf('/') + 1);
  if (typeName === RAW_BUFFER || (!typeName && socket.name === 'envoy.transport_sockets.raw_buffer'))
    return undefined;
  if (typeName === type || (!typeName && TLS_NAMES.includes(socket.name)))
    return (socket.typed_config ?? {}) as T;
  throw new TlsConfigError(
    `transport socket '${socket.name}' (${typeName ?? 'no typed_config'}) is not ${type}`,
  );
}

export class TlsContextManager {
  private readonly secrets = new Map<string, Secret>();
  private readonly contexts = new Set<ServerTlsContext | ClientTlsContext>();

  constructor(secrets: Secret[] = []) {
    for (const s of secrets) this.secrets.set(s.name, s);
  }

  /**
   * The TLS side of a listener filter chain (`transport_socket` with a DownstreamTlsContext), or
   * undefined for plain TCP. `onSecure` receives each connection once its handshake succeeded.
   * Throws, naming `where` and the file, when the certificates cannot be loaded.
   */
  serverContext(
    socket: TransportSocket | undefined,
    o: { where: string; scope: Scope; onSecure: (socket: TLSSocket) => void },
  ): ServerTlsContext | undefined {
    const config = tlsConfigOf<DownstreamTlsContext>(socket, DOWNSTREAM_TLS_CONTEXT);
    if (!config) return undefined;
    const context = this.build(o.where, () => {
      const material = this.resolve(config.common_tls_context);
      return new ServerTlsContext(config, material, new TlsStats(o.scope), o.onSecure);
    });
    this.contexts.add(context);
    return context;
  }

  /** How a cluster connects: TLS for an UpstreamTlsContext, plain TCP otherwise. */
  upstreamTransport(
    socket: TransportSocket | undefined,
    o: { where: string; scope: Scope },
  ): UpstreamTransport {
    const config = tlsConfigOf<UpstreamTlsContext>(socket, UPSTREAM_TLS_CONTEXT);
    if (!config) return RAW_BUFFER_TRANSPORT;
    const context = this.build(o.where, () => {
      const material = this.resolve(config.common_tls_context);
      return new ClientTlsContext(config, material, new TlsStats(o.scope));
    });
    this.contexts.add(context);
    return context;
  }

  /** The listener or cluster that owned the context is gone: it no longer shows in `/certs`. */
  release(context: UpstreamTransport | ServerTlsContext | undefined): void {
    if (context instanceof ServerTlsContext || context instanceof ClientTlsContext)
      this.contexts.delete(context);
  }

  /** `/certs`: one entry per live context, oldest first. */
  certs(now = Date.now()): CertificateReport[] {
    return [...this.contexts].map((c) => c.report(now));
  }

  private build<T>(where: string, make: () => T): T {
    try {
      return make();
    } catch (err) {
      if (err instanceof TlsConfigError) throw new TlsConfigError(`${where}: ${err.message}`);
      throw err;
    }
  }

  /** Certificates and validation context, with SDS secret names looked up among the static secrets. */
  private resolve(common: CommonTlsContext | undefined): ResolvedTlsMaterial {
    const certificates = [
      ...(common?.tls_certificates ?? []),
      ...(common?.tls_certificate_sds_secret_configs ?? []).map((sds) => {
        const c = this.secret(sds.name).tls_certificate;
        if (!c) throw new TlsConfigError(`secret '${sds.name}' is not a tls_certificate`);
        return c;
      }),
    ].map(loadCertificate);
    return { certificates, validation: loadValidation(this.validationContext(common)) };
  }

  private validationContext(common: CommonTlsContext | undefined): TlsValidationContext | undefined {
    const named = (name: string) => {
      const v = this.secret(name).validation_context as TlsValidationContext | undefined;
      if (!v) throw new TlsConfigError(`secret '${name}' is not a validation_context`);
      return v;
    };
    if (common?.validation_context) return common.validation_context;
    if (common?.validation_context_sds_secret_config)
      return named(common.validation_context_sds_secret_config.name);
    const combined = common?.combined_validation_context;
    if (!combined) return undefined;
    const base = combined.default_validation_context ?? {};
    if (!combined.validation_context_sds_secret_config) return base;
    // Envoy merges the secret into the default: its singular fields win, repeated ones append.
    const secret = named(combined.validation_context_sds_secret_config.name);
    return {
      ...base,
      ...secret,
      match_typed_subject_alt_names: [
        ...(base.match_typed_subject_alt_names ?? []),
        ...(secret.match_typed_subject_alt_names ?? []),
      ],
      match_subject_alt_names: [
        ...(base.match_subject_alt_names ?? []),
        ...(secret.match_subject_alt_names ?? []),
      ],
    };
  }

  private secret(name: string): Secret {
    const s = this.secrets.get(name);
    if (!s) throw new TlsConfigError(`Unknown static secret: ${name}`);
    return s;
  }
}
