/**
 * Reading certificates: PEM bundles split into certificates, and the details Envoy's `/certs`
 * admin endpoint prints for each (`envoy.admin.v3.CertificateDetails`): serial number in lower-case
 * hex, subject alternative names, whole days until expiry (a string, as proto3 JSON prints
 * uint64), and RFC 3339 validity times.
 */
import { X509Certificate } from 'node:crypto';
import type { CertificateDetails } from '../admin/context.js';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const DAY_MS = 86_400_000;

/** Every certificate of a PEM bundle, in order; an empty list when there is none or one is malformed. */
export function parseCertificates(pem: Buffer | string): X509Certificate[] {
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  try {
    return blocks.map((b) => new X509Certificate(b));
  } catch {
    return [];
  }
}

/** A SAN as `/certs` prints it (`envoy.admin.v3.SubjectAlternateName`). */
export type SubjectAltName = { dns: string } | { uri: string } | { ip_address: string };

/** Subject alternative names by type, from Node's `DNS:a, IP Address:b, URI:c, email:d` rendering. */
export function subjectAltNames(cert: X509Certificate): { type: string; value: string }[] {
  const text = cert.subjectAltName;
  if (!text) return [];
  const out: { type: string; value: string }[] = [];
  // Values with separators in them are JSON-quoted by Node.
  for (const m of text.matchAll(/([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g)) {
    const raw = m[2]!;
    out.push({ type: m[1]!, value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
  }
  return out;
}

function adminSan(san: { type: string; value: string }): SubjectAltName | undefined {
  switch (san.type) {
    case 'DNS':
      return { dns: san.value };
    case 'URI':
      return { uri: san.value };
    case 'IP Address':
      return { ip_address: san.value };
    default:
      return undefined;
  }
}

/** Whole days left (Envoy's ASN1_TIME_diff days), 0 once expired. */
export function daysUntilExpiration(cert: X509Certificate, now = Date.now()): number {
  const left = Date.parse(cert.validTo) - now;
  return left > 0 ? Math.floor(left / DAY_MS) : 0;
}

/** RFC 3339 in UTC without fractions, as protobuf's Timestamp JSON prints whole seconds. */
function rfc3339(opensslTime: string): string {
  return new Date(Date.parse(opensslTime)).toISOString().replace(/\.000Z$/, 'Z');
}

/** One certificate as `/certs` shows it; `path` is the file it came from, or `<inline>`. */
export function certificateDetails(
  cert: X509Certificate,
  path: string,
  now = Date.now(),
): CertificateDetails {
  return {
    path,
    serial_number: cert.serialNumber.toLowerCase(),
    subject_alt_names: subjectAltNames(cert)
      .map(adminSan)
      .filter((s) => s !== undefined),
    days_until_expiration: String(daysUntilExpiration(cert, now)),
    valid_from: rfc3339(cert.validFrom),
    expiration_time: rfc3339(cert.validTo),
  };
}
