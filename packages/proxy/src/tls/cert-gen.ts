/**
 * The course's `gencerts.sh` in TypeScript: a private CA and server/client leaf certificates for
 * TLS labs, made with Node's crypto (no openssl at run time). What it makes matches what the
 * script's `openssl.conf` makes:
 *
 * - the CA: RSA 4096, `CN=<caCommonName>` (default `envoy-ca`), self-signed, a random 159-bit
 *   serial, extensions `v3_ca` (SKI, AKI keyid, critical `CA:true, pathlen:0`, critical key usage
 *   digitalSignature/keyCertSign/cRLSign);
 * - each leaf: RSA 2048, subject `CN=<name>` only (no SAN), serials from 0x1000 up in the order
 *   asked, sha256WithRSAEncryption, and the `envoy_server_cert` or `envoy_client_cert`
 *   extensions (Netscape type and comment, SKI, AKI, key usage, EKU serverAuth or clientAuth);
 * - all valid for 3650 days from now;
 * - files laid out as the script leaves them: `certs/CA/ca.{crt,key}`,
 *   `certs/<name>/server.{crt,key}` and `certs/<name>/client.{crt,key}`.
 */
import crypto, { type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import {
  bitString,
  boolean,
  elements,
  explicit,
  ia5String,
  implicit,
  integer,
  namedBits,
  nullValue,
  octetString,
  oid,
  pem,
  sequence,
  set,
  time,
  utf8String,
} from './der.js';

const generateKeyPair = promisify(crypto.generateKeyPair);

/** One entry of the lab's PKI: what `gencerts.sh` is told at its prompt (`<name> envoy_server_cert`). */
export interface LabCertificateRequest {
  /** Directory name under `certs/` (the script's CERT). */
  name: string;
  /** Subject CN; defaults to the name. */
  commonName?: string;
  /** Issue `server.{crt,key}` (the script's `envoy_server_cert`). */
  server?: boolean;
  /** Issue `client.{crt,key}` (the script's `envoy_client_cert`). */
  client?: boolean;
  /** Where its files go, relative to the project; defaults to `certs/<name>/`. */
  dir?: string;
}

/** What a lab needs (the topology renderer's `pki`). */
export interface LabPkiRequest {
  caCommonName?: string;
  /** Where the CA's files go; defaults to `certs/CA/`. */
  caDir?: string;
  certificates: LabCertificateRequest[];
}

export interface LabCertificateOptions {
  /** Start of validity; defaults to now. */
  now?: Date;
  /** Validity in days; the script's 3650. */
  days?: number;
  /** Serial of the first leaf; the script's 0x1000. */
  firstSerial?: number;
  caKeyBits?: number;
  leafKeyBits?: number;
  /** Sign with this CA instead of making one (the script reuses an existing `certs/CA/`). */
  ca?: { certPem: string; keyPem: string };
}

export interface IssuedCertificate {
  name: string;
  commonName: string;
  role: 'server' | 'client';
  /** Lower-case hex without separators, as Envoy's `/certs` prints it. */
  serialNumber: string;
  certPath: string;
  keyPath: string;
  certPem: string;
  keyPem: string;
}

export interface LabPki {
  ca: {
    commonName: string;
    serialNumber: string;
    certPath: string;
    keyPath: string;
    certPem: string;
    keyPem: string;
  };
  certificates: IssuedCertificate[];
  /** Every file to write, by path relative to the project (`certs/CA/ca.crt`, ...), PEM text. */
  files: Record<string, string>;
}

const OID = {
  commonName: '2.5.4.3',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  nsCertType: '2.16.840.1.113730.1.1',
  nsComment: '2.16.840.1.113730.1.13',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** KeyUsage bit numbers (RFC 5280 §4.2.1.3). */
const KU = { digitalSignature: 0, nonRepudiation: 1, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 };
/** Netscape cert type bits. */
const NS_TYPE = { client: 0, server: 1 };

const DAY_MS = 86_400_000;

/** The signing side of a certificate: the CA's key and the fields leaves copy from its certificate. */
interface Issuer {
  key: KeyObject;
  /** The CA certificate's subject Name (a leaf's issuer). */
  subject: Buffer;
  /** The CA certificate's own issuer Name and serial (for AKI `issuer:always`). */
  issuer: Buffer;
  serial: Buffer;
  keyId: Buffer;
}

/** Makes the lab's CA (or takes the given one) and its leaves, in the order requested. */
export async function generateLabCertificates(
  request: LabPkiRequest,
  options: LabCertificateOptions = {},
): Promise<LabPki> {
  const now = options.now ?? new Date();
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + (options.days ?? 3650) * DAY_MS);
  const caDir = withSlash(request.caDir ?? 'certs/CA/');
  const files: Record<string, string> = {};

  let ca: LabPki['ca'];
  let issuer: Issuer;
  if (options.ca) {
    issuer = issuerFrom(options.ca.certPem, options.ca.keyPem);
    const x509 = new crypto.X509Certificate(options.ca.certPem);
    ca = {
      commonName: /(?:^|\n)CN=([^\n]*)/.exec(x509.subject)?.[1] ?? '',
      serialNumber: x509.serialNumber.toLowerCase(),
      certPath: `${caDir}ca.crt`,
      keyPath: `${caDir}ca.key`,
      certPem: options.ca.certPem,
      keyPem: options.ca.keyPem,
    };
  } else {
    const commonName = request.caCommonName ?? 'envoy-ca';
    const { publicKey, privateKey } = await rsaKeyPair(options.caKeyBits ?? 4096);
    const name = distinguishedName(commonName);
    const keyId = keyIdentifier(publicKey);
    // openssl req -x509 picks a random positive 159-bit serial.
    const serialBytes = crypto.randomBytes(20);
    serialBytes[0]! &= 0x7f;
    const der = certificate({
      serial: serialBytes,
      issuer: name,
      subject: name,
      notBefore,
      notAfter,
      publicKey,
      signingKey: privateKey,
      extensions: [
        extension(OID.subjectKeyIdentifier, octetString(keyId)),
        extension(OID.authorityKeyIdentifier, sequence(implicit(0, octetString(keyId)))),
        extension(OID.basicConstraints, sequence(boolean(true), integer(0n)), true),
        extension(OID.keyUsage, namedBits([KU.digitalSignature, KU.keyCertSign, KU.cRLSign]), true),
      ],
    });
    issuer = { key: privateKey, subject: name, issuer: name, serial: serialBytes, keyId };
    ca = {
      commonName,
      serialNumber: serialHex(serialBytes),
      certPath: `${caDir}ca.crt`,
      keyPath: `${caDir}ca.key`,
      certPem: pem('CERTIFICATE', der),
      keyPem: privateKeyPem(privateKey),
    };
  }
  files[ca.certPath] = ca.certPem;
  files[ca.keyPath] = ca.keyPem;

  const jobs: { entry: LabCertificateRequest; role: 'server' | 'client'; serial: number }[] = [];
  let serial = options.firstSerial ?? 0x1000;
  for (const entry of request.certificates) {
    for (const role of ['server', 'client'] as const)
      if (entry[role]) jobs.push({ entry, role, serial: serial++ });
  }
  // Key generation dominates; the pairs are made in parallel on libuv's thread pool.
  const keys = await Promise.all(jobs.map(() => rsaKeyPair(options.leafKeyBits ?? 2048)));
  const certificates = jobs.map(({ entry, role, serial }, i): IssuedCertificate => {
    const { publicKey, privateKey } = keys[i]!;
    const commonName = entry.commonName ?? entry.name;
    const hex = serial.toString(16);
    const serialBytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
    const der = certificate({
      serial: serialBytes,
      issuer: issuer.subject,
      subject: distinguishedName(commonName),
      notBefore,
      notAfter,
      publicKey,
      signingKey: issuer.key,
      extensions: leafExtensions(role, keyIdentifier(publicKey), issuer),
    });
    const dir = withSlash(entry.dir ?? `certs/${entry.name}/`);
    const issued: IssuedCertificate = {
      name: entry.name,
      commonName,
      role,
      serialNumber: serialHex(serialBytes),
      certPath: `${dir}${role}.crt`,
      keyPath: `${dir}${role}.key`,
      certPem: pem('CERTIFICATE', der),
      keyPem: privateKeyPem(privateKey),
    };
    files[issued.certPath] = issued.certPem;
    files[issued.keyPath] = issued.keyPem;
    return issued;
  });
  return { ca, certificates, files };
}

/** `envoy_server_cert` / `envoy_client_cert` of the course's openssl.conf, in its order. */
function leafExtensions(role: 'server' | 'client', keyId: Buffer, issuer: Issuer): Buffer[] {
  const server = role === 'server';
  // Server: `authorityKeyIdentifier = keyid,issuer:always` (key id, issuer name and serial); client: key id only.
  const aki = server
    ? sequence(
        implicit(0, octetString(issuer.keyId)),
        implicit(1, sequence(explicit(4, issuer.issuer)), true),
        implicit(2, integer(issuer.serial)),
      )
    : sequence(implicit(0, octetString(issuer.keyId)));
  return [
    extension(OID.basicConstraints, sequence()),
    extension(OID.nsCertType, namedBits([server ? NS_TYPE.server : NS_TYPE.client])),
    extension(OID.nsComment, ia5String(`OpenSSL Generated ${server ? 'Server' : 'Client'} Certificate`)),
    extension(OID.subjectKeyIdentifier, octetString(keyId)),
    extension(OID.authorityKeyIdentifier, aki),
    extension(
      OID.keyUsage,
      namedBits(
        server
          ? [KU.digitalSignature, KU.keyEncipherment]
          : [KU.digitalSignature, KU.nonRepudiation, KU.keyEncipherment],
      ),
      true,
    ),
    extension(OID.extKeyUsage, sequence(oid(server ? OID.serverAuth : OID.clientAuth))),
  ];
}

interface CertificateFields {
  serial: Buffer;
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  signingKey: KeyObject;
  extensions: Buffer[];
}

/** An X.509 v3 certificate (RFC 5280 §4.1), DER, signed with sha256WithRSAEncryption. */
function certificate(f: CertificateFields): Buffer {
  const algorithm = sequence(oid(OID.sha256WithRSAEncryption), nullValue());
  const tbs = sequence(
    explicit(0, integer(2n)),
    integer(f.serial),
    algorithm,
    f.issuer,
    sequence(time(f.notBefore), time(f.notAfter)),
    f.subject,
    f.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...f.extensions)),
  );
  const signature = crypto.sign('sha256', tbs, f.signingKey);
  return sequence(tbs, algorithm, bitString(signature));
}

function extension(id: string, value: Buffer, critical = false): Buffer {
  return critical
    ? sequence(oid(id), boolean(true), octetString(value))
    : sequence(oid(id), octetString(value));
}

/** A Name with one RDN, `CN=<commonName>`, as a UTF8String (`string_mask = utf8only`). */
function distinguishedName(commonName: string): Buffer {
  return sequence(set(sequence(oid(OID.commonName), utf8String(commonName))));
}

/** `subjectKeyIdentifier = hash`: SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2, method 1). */
function keyIdentifier(publicKey: KeyObject): Buffer {
  return crypto
    .createHash('sha1')
    .update(publicKey.export({ type: 'pkcs1', format: 'der' }))
    .digest();
}

/** The fields of an existing CA certificate a leaf needs, and its key. */
function issuerFrom(certPem: string, keyPem: string): Issuer {
  const x509 = new crypto.X509Certificate(certPem);
  const key = crypto.createPrivateKey(keyPem);
  if (!x509.checkPrivateKey(key)) throw new Error('the CA key does not belong to the CA certificate');
  const [tbs] = elements(x509.raw);
  const fields = elements(elements(tbs!.value)[0]!.value);
  // tbsCertificate: [0] version, serialNumber, signature, issuer, validity, subject, ...
  const [serial, , issuer, , subject] = fields[0]!.tag === 0xa0 ? fields.slice(1) : fields;
  return {
    key,
    subject: subject!.encoded,
    issuer: issuer!.encoded,
    serial: serial!.value,
    keyId: keyIdentifier(x509.publicKey),
  };
}

async function rsaKeyPair(bits: number): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return generateKeyPair('rsa', { modulusLength: bits, publicExponent: 0x10001 });
}

/** PKCS#8 PEM (`BEGIN PRIVATE KEY`), what `openssl genrsa` of OpenSSL 3 writes. */
function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Lower-case hex of a positive serial without leading zero bytes (Envoy's BN_bn2hex, lowered). */
function serialHex(serial: Buffer): string {
  let start = 0;
  while (start < serial.length - 1 && serial[start] === 0) start++;
  return serial.subarray(start).toString('hex');
}

function withSlash(dir: string): string {
  return dir.endsWith('/') ? dir : `${dir}/`;
}
