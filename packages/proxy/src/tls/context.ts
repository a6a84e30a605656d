/**
 * TLS contexts, after Envoy's `source/common/tls` (ContextImpl, ServerContextImpl,
 * ClientContextImpl, DefaultCertValidator): certificates, keys and trust anchors loaded once from
 * a DownstreamTlsContext or UpstreamTlsContext, Node secure contexts built from them, the
 * handshake on each connection, peer verification the way Envoy does it, and the `ssl.*` stats
 * of the listener or cluster that owns the context.
 *
 * Verification, as Envoy's: a server asks for a client certificate when it has a trust anchor or
 * requires one; a presented certificate must chain to `trusted_ca` (when set) and match the SAN
 * matchers (when set); `require_client_certificate` makes a missing one fail the handshake. A
 * client checks the server only when it has `trusted_ca` — there is no hostname check unless SAN
 * matchers ask for one.
 */
import { createPrivateKey, constants as cryptoConstants, type KeyObject, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import tls, { type SecureContextOptions, type TLSSocket } from 'node:tls';
import type { CertificateDetails } from '../admin/context.js';
import { durationMs } from '../common/duration.js';
import { compileStringMatcher, type StringPredicate } from '../common/matchers.js';
import type { DataSource, TlsCertificate } from '../config/types.js';
import type { Counter, Scope } from '../stats/store.js';
import { certificateDetails, parseCertificates, subjectAltNames } from './certificate-info.js';
import type {
  CommonTlsContext,
  DownstreamTlsContext,
  TlsParameters,
  TlsProtocol,
  TlsValidationContext,
  UpstreamTlsContext,
} from './types.js';

/** A TLS configuration that cannot be loaded: a file missing or not what it should be. */
export class TlsConfigError extends Error {}

/** Bytes of a DataSource and where they came from (`/certs` prints the path, or `<inline>`). */
interface Material {
  data: Buffer;
  path: string;
}

const INLINE = '<inline>';

/** Reads a DataSource; a file that cannot be read fails with Envoy's message, naming it. */
export function readDataSource(ds: DataSource): Material {
  if (ds.filename !== undefined) {
    try {
      return { data: fs.readFileSync(ds.filename), path: ds.filename };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
      throw new TlsConfigError(`unable to read file: ${ds.filename} (${why})`);
    }
  }
  if (ds.inline_bytes !== undefined) return { data: Buffer.from(ds.inline_bytes, 'base64'), path: INLINE };
  if (ds.inline_string !== undefined) return { data: Buffer.from(ds.inline_string, 'utf8'), path: INLINE };
  if (ds.environment_variable !== undefined) {
    const value = process.env[ds.environment_variable];
    if (value === undefined)
      throw new TlsConfigError(`environment variable '${ds.environment_variable}' does not exist`);
    return { data: Buffer.from(value, 'utf8'), path: INLINE };
  }
  throw new TlsConfigError(
    'a DataSource has none of filename, inline_bytes, inline_string, environment_variable',
  );
}

/** A loaded `tls_certificates` entry: the chain (leaf first) and its private key. */
export interface LoadedCertificate {
  chain: Material;
  leaf: X509Certificate;
  key: KeyObject;
}

export function loadCertificate(c: TlsCertificate): LoadedCertificate {
  if (!c.certificate_chain) throw new TlsConfigError('a TLS certificate has no certificate_chain');
  if (!c.private_key) throw new TlsConfigError('a TLS certificate has no private_key');
  const chain = readDataSource(c.certificate_chain);
  const [leaf] = parseCertificates(chain.data);
  if (!leaf)
    throw new TlsConfigError(
      `Failed to load certificate chain from ${chain.path}: it holds no PEM certificate`,
    );
  const keyMaterial = readDataSource(c.private_key);
  let key: KeyObject;
  try {
    const passphrase = c.password ? readDataSource(c.password).data.toString('utf8') : undefined;
    key = createPrivateKey({ key: keyMaterial.data, passphrase });
  } catch (err) {
    throw new TlsConfigError(
      `Failed to load private key from ${keyMaterial.path}: ${(err as Error).message.replace(/^error:\w+:/, '')}`,
    );
  }
  if (!leaf.checkPrivateKey(key))
    throw new TlsConfigError(
      `Failed to load private key from ${keyMaterial.path}: it does not match the certificate in ${chain.path}`,
    );
  return { chain, leaf, key };
}

type SanType = 'DNS' | 'URI' | 'IP_ADDRESS' | 'EMAIL';
const NODE_SAN_TYPE: Record<string, SanType> = {
  DNS: 'DNS',
  URI: 'URI',
  'IP Address': 'IP_ADDRESS',
  email: 'EMAIL',
};

/** A loaded validation context: the trust anchors and the SAN matchers. */
export interface LoadedValidation {
  trustedCa: (Material & { certs: X509Certificate[] }) | undefined;
  sanMatchers: { type: SanType | undefined; match: StringPredicate }[];
}

export function loadValidation(v: TlsValidationContext | undefined): LoadedValidation {
  let trustedCa: LoadedValidation['trustedCa'];
  if (v?.trusted_ca) {
    const m = readDataSource(v.trusted_ca);
    const certs = parseCertificates(m.data);
    if (certs.length === 0)
      throw new TlsConfigError(
        `Failed to load trusted CA certificates from ${m.path}: it holds no PEM certificate`,
      );
    trustedCa = { ...m, certs };
  }
  const sanMatchers = [
    ...(v?.match_typed_subject_alt_names ?? []).map((m) => ({
      type: m.san_type as SanType,
      match: compileStringMatcher(m.matcher),
    })),
    // The deprecated untyped matchers apply to every SAN type.
    ...(v?.match_subject_alt_names ?? []).map((m) => ({ type: undefined, match: compileStringMatcher(m) })),
  ];
  if (sanMatchers.length > 0 && !trustedCa)
    throw new TlsConfigError(
      'SAN-based verification of peer certificates without trusted CA is insecure and not allowed',
    );
  return { trustedCa, sanMatchers };
}

/** Whether one of the certificate's SANs satisfies a matcher (no matchers: every certificate does). */
function sanMatches(cert: X509Certificate, validation: LoadedValidation): boolean {
  if (validation.sanMatchers.length === 0) return true;
  const sans = subjectAltNames(cert);
  return validation.sanMatchers.some((m) =>
    sans.some((s) => (m.type === undefined || NODE_SAN_TYPE[s.type] === m.type) && m.match(s.value)),
  );
}

/** `listener.<addr>.ssl.*` or `cluster.<name>.ssl.*` (Envoy's SslStats). */
export class TlsStats {
  readonly handshake: Counter;
  readonly connection_error: Counter;
  readonly session_reused: Counter;
  readonly no_certificate: Counter;
  readonly fail_verify_no_cert: Counter;
  readonly fail_verify_error: Counter;
  readonly fail_verify_san: Counter;
  private readonly scope: Scope;

  constructor(owner: Scope) {
    this.scope = owner.scope('ssl.');
    this.handshake = this.scope.counter('handshake');
    this.connection_error = this.scope.counter('connection_error');
    this.session_reused = this.scope.counter('session_reused');
    this.no_certificate = this.scope.counter('no_certificate');
    this.fail_verify_no_cert = this.scope.counter('fail_verify_no_cert');
    this.fail_verify_error = this.scope.counter('fail_verify_error');
    this.fail_verify_san = this.scope.counter('fail_verify_san');
  }

  /** A successful handshake: Envoy's per-cipher, per-version and per-curve counters. */
  onHandshake(socket: TLSSocket, peerCertificate: boolean): void {
    this.handshake.inc();
    if (socket.isSessionReused()) this.session_reused.inc();
    if (!peerCertificate) this.no_certificate.inc();
    const cipher = socket.getCipher();
    if (cipher?.name) this.scope.counter(`ciphers.${cipher.name}`).inc();
    const version = socket.getProtocol();
    if (version) this.scope.counter(`versions.${version}`).inc();
    // Node knows the key-exchange group on the client side only.
    const curve = socket.getEphemeralKeyInfo();
    if (curve && 'name' in curve && curve.name) this.scope.counter(`curves.${curve.name}`).inc();
  }
}

const NODE_VERSION: Record<Exclude<TlsProtocol, 'TLS_AUTO'>, tls.SecureVersion> = {
  TLSv1_0: 'TLSv1',
  TLSv1_1: 'TLSv1.1',
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};

/**
 * `tls_params` as Node secure-context options, with Envoy's defaults: at least TLS 1.2, at most
 * TLS 1.3 for servers and TLS 1.2 for clients. BoringSSL's `[A|B]` equal-preference groups become
 * plain lists (OpenSSL has no such groups).
 */
function protocolOptions(params: TlsParameters | undefined, side: 'server' | 'client'): SecureContextOptions {
  const version = (v: TlsProtocol | undefined, fallback: tls.SecureVersion) =>
    v && v !== 'TLS_AUTO' ? NODE_VERSION[v] : fallback;
  const options: SecureContextOptions = {
    minVersion: version(params?.tls_minimum_protocol_version, 'TLSv1.2'),
    maxVersion: version(params?.tls_maximum_protocol_version, side === 'server' ? 'TLSv1.3' : 'TLSv1.2'),
  };
  if (params?.cipher_suites?.length)
    options.ciphers = params.cipher_suites.flatMap((s) => s.replace(/^\[|\]$/g, '').split('|')).join(':');
  if (params?.ecdh_curves?.length) options.ecdhCurve = params.ecdh_curves.join(':');
  return options;
}

/** What a context contributes to `/certs`: one entry per context. */
export interface CertificateReport {
  ca_cert: CertificateDetails[];
  cert_chain: CertificateDetails[];
}

/** The certificates and trust anchors a context was built from (after SDS names are resolved). */
export interface ResolvedTlsMaterial {
  certificates: LoadedCertificate[];
  validation: LoadedValidation;
}

abstract class TlsContext {
  constructor(
    protected readonly material: ResolvedTlsMaterial,
    readonly stats: TlsStats,
  ) {}

  /** Envoy reports the first trust anchor and the leaf of each certificate chain. */
  report(now = Date.now()): CertificateReport {
    const ca = this.material.validation.trustedCa;
    return {
      ca_cert: ca ? [certificateDetails(ca.certs[0]!, ca.path, now)] : [],
      cert_chain: this.material.certificates.map((c) => certificateDetails(c.leaf, c.chain.path, now)),
    };
  }

  protected secureContextOptions(common: CommonTlsContext | undefined, side: 'server' | 'client') {
    const { certificates, validation } = this.material;
    return {
      ...protocolOptions(common?.tls_params, side),
      cert: certificates.map((c) => c.chain.data),
      // Decrypted PEM: Node's TLS takes PEM (or an encrypted one with one passphrase for all).
      key: certificates.map((c) => c.key.export({ type: 'pkcs8', format: 'pem' }) as string),
      ca: validation.trustedCa?.data,
    };
  }
}

/** The TLS side of a listener's filter chain: handshakes with clients, then hands over the TLS socket. */
export class ServerTlsContext extends TlsContext {
  private readonly server: tls.Server;
  private readonly requireClientCertificate: boolean;

  constructor(
    config: DownstreamTlsContext,
    material: ResolvedTlsMaterial,
    stats: TlsStats,
    onSecure: (socket: TLSSocket) => void,
  ) {
    super(material, stats);
    const common = config.common_tls_context;
    if (material.certificates.length === 0)
      throw new TlsConfigError(
        'a DownstreamTlsContext needs a certificate (tls_certificates or an SDS secret)',
      );
    this.requireClientCertificate = config.require_client_certificate === true;
    const hasCa = material.validation.trustedCa !== undefined;
    // A tls.Server that never listens: sockets are handed to it, so Node's server-side handshake
    // (ALPN, client certificates, tickets) runs exactly as for its own connections.
    this.server = new tls.Server({
      ...this.secureContextOptions(common, 'server'),
      ALPNProtocols: common?.alpn_protocols?.length ? common.alpn_protocols : undefined,
      requestCert: hasCa || this.requireClientCertificate,
      // Node fails the handshake itself (alert "certificate required") when a required certificate
      // is missing, but only while it also checks the chain, which needs a trust anchor to check against.
      rejectUnauthorized: hasCa && this.requireClientCertificate,
      honorCipherOrder: config.prefer_client_ciphers !== true,
      sessionTimeout: config.session_timeout
        ? Math.floor(durationMs(config.session_timeout, 0) / 1000)
        : undefined,
      ...(config.disable_stateless_session_resumption && { secureOptions: cryptoConstants.SSL_OP_NO_TICKET }),
    });
    this.server.on('secureConnection', (socket: TLSSocket) => {
      if (this.verifyPeer(socket)) onSecure(socket);
    });
    this.server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      if (err.code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') this.stats.fail_verify_no_cert.inc();
      // Node closes a connection whose certificate failed the chain check without saying why but here.
      else if (socket.authorizationError) this.stats.fail_verify_error.inc();
      else this.stats.connection_error.inc();
      socket.destroy();
    });
  }

  /** Starts the server handshake on an accepted connection. */
  accept(socket: net.Socket): void {
    this.server.emit('connection', socket);
  }

  /** The checks Node leaves to us; a failing peer is disconnected and counted. */
  private verifyPeer(socket: TLSSocket): boolean {
    const peer = socket.getPeerX509Certificate();
    const fail = (counter: Counter) => {
      counter.inc();
      socket.destroy();
      return false;
    };
    if (!peer) {
      if (this.requireClientCertificate) return fail(this.stats.fail_verify_no_cert);
    } else if (this.material.validation.trustedCa) {
      if (!socket.authorized) return fail(this.stats.fail_verify_error);
      if (!sanMatches(peer, this.material.validation)) return fail(this.stats.fail_verify_san);
    }
    this.stats.onHandshake(socket, peer !== undefined);
    return true;
  }
}

/** How a cluster's connections are made: plain TCP, or TLS on top (the cluster's transport socket). */
export interface UpstreamTransport {
  /** TLS (upstream `:scheme` https). */
  readonly secure: boolean;
  /**
   * Opens a connection; it carries application bytes after `ready`. `alpn` is what the pool
   * speaks (Envoy's ALPN fallback), offered when the context configures no ALPN of its own.
   */
  connect(host: { address: string; port: number }, alpn: string[]): { socket: net.Socket; ready: string };
}

/** `envoy.transport_sockets.raw_buffer`: what a cluster without a transport socket uses. */
export const RAW_BUFFER_TRANSPORT: UpstreamTransport = {
  secure: false,
  connect: (host) => ({ socket: net.connect({ host: host.address, port: host.port }), ready: 'connect' }),
};

/** A SAN mismatch, as the client-side check reports it. */
class SanMismatchError extends Error {
  readonly code = 'ERR_TLS_SAN_MISMATCH';
}

/** A cluster's UpstreamTlsContext: TLS connections to its hosts, resuming the last session per host. */
export class ClientTlsContext extends TlsContext implements UpstreamTransport {
  readonly secure = true;
  private readonly secureContext: tls.SecureContext;
  private readonly sni: string | undefined;
  private readonly alpn: string[] | undefined;
  /** Envoy keeps `max_session_keys` (1) sessions for resumption. */
  private readonly sessions = new Map<string, Buffer>();

  constructor(config: UpstreamTlsContext, material: ResolvedTlsMaterial, stats: TlsStats) {
    super(material, stats);
    const common = config.common_tls_context;
    this.secureContext = tls.createSecureContext(this.secureContextOptions(common, 'client'));
    this.sni = config.sni || undefined;
    this.alpn = common?.alpn_protocols?.length ? common.alpn_protocols : undefined;
  }

  connect(host: { address: string; port: number }, alpn: string[]): { socket: TLSSocket; ready: string } {
    const key = `${host.address}:${host.port}`;
    const validation = this.material.validation;
    const socket = tls.connect({
      host: host.address,
      port: host.port,
      secureContext: this.secureContext,
      // Envoy sends SNI only when configured; an empty servername keeps Node from using the host.
      servername: this.sni ?? '',
      ALPNProtocols: this.alpn ?? alpn,
      session: this.sessions.get(key),
      // Without a trust anchor Envoy does not check the server's certificate at all.
      rejectUnauthorized: validation.trustedCa !== undefined,
      // Envoy has no implicit hostname check: only configured SAN matchers constrain the name.
      checkServerIdentity: (_name, cert) =>
        sanMatches(new X509Certificate(cert.raw), validation)
          ? undefined
          : new SanMismatchError('the server certificate matches none of match_typed_subject_alt_names'),
    });
    socket.setNoDelay(true);
    let established = false;
    socket.once('secureConnect', () => {
      established = true;
      this.stats.onHandshake(socket, true);
    });
    socket.on('session', (session: Buffer) => this.sessions.set(key, session));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      // Only handshake failures are TLS stats; a reset later is the connection's business.
      if (established) return;
      if (err instanceof SanMismatchError) this.stats.fail_verify_san.inc();
      else if (socket.authorizationError) this.stats.fail_verify_error.inc();
      else if (isTlsError(err)) this.stats.connection_error.inc();
    });
    return { socket, ready: 'secureConnect' };
  }
}

/** OpenSSL's errors, as Node reports them (`ERR_SSL_*`, the `SSL routines` library). */
function isTlsError(err: NodeJS.ErrnoException & { library?: string }): boolean {
  return err.code?.startsWith('ERR_SSL_') === true || err.library === 'SSL routines';
}

/**
 * Envoy's transport failure text when a connection failed in its TLS handshake (e.g. `TLS error:
 * ...:CERTIFICATE_VERIFY_FAILED`), or undefined when the failure was not TLS's.
 */
export function tlsHandshakeFailure(err: NodeJS.ErrnoException, socket: net.Socket): string | undefined {
  if (err instanceof SanMismatchError || (socket instanceof tls.TLSSocket && socket.authorizationError))
    return 'TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED';
  if (!isTlsError(err)) return undefined;
  const reason = err.code?.startsWith('ERR_SSL_') ? err.code.slice('ERR_SSL_'.length) : err.message;
  return `TLS error: SSL routines:OPENSSL_internal:${reason}`;
}
