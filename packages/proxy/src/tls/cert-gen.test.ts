import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateLabCertificates, type LabPki } from './cert-gen.js';
import { elements, integer, namedBits, oid, time } from './der.js';

/** openssl is only a cross-check here; the generator itself never runs it. */
function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

describe('der', () => {
  it('encodes integers minimally with a sign byte when the high bit is set', () => {
    expect(integer(0n).toString('hex')).toBe('020100');
    expect(integer(0x7fn).toString('hex')).toBe('02017f');
    expect(integer(0x80n).toString('hex')).toBe('02020080');
    expect(integer(0x1000n).toString('hex')).toBe('02021000');
    expect(integer(Buffer.from([0, 0, 5])).toString('hex')).toBe('020105');
  });

  it('encodes OIDs with base-128 arcs', () => {
    expect(oid('2.5.4.3').toString('hex')).toBe('0603550403');
    expect(oid('1.2.840.113549.1.1.11').toString('hex')).toBe('06092a864886f70d01010b');
    expect(oid('2.16.840.1.113730.1.1').toString('hex')).toBe('06096086480186f8420101');
  });

  it('drops trailing zero bits of named bit strings', () => {
    // digitalSignature + keyEncipherment: bits 0 and 2, five unused.
    expect(namedBits([0, 2]).toString('hex')).toBe('030205a0');
    // digitalSignature, keyCertSign, cRLSign: 0x86 with one unused bit.
    expect(namedBits([0, 5, 6]).toString('hex')).toBe('03020186');
  });

  it('uses UTCTime before 2050 and GeneralizedTime after', () => {
    expect(time(new Date('2032-06-22T17:31:26Z')).toString('latin1').slice(2)).toBe('320622173126Z');
    expect(time(new Date('2051-01-02T03:04:05Z')).toString('latin1').slice(2)).toBe('20510102030405Z');
  });

  it('uses long-form lengths from 128 bytes on and reads them back', () => {
    const big = integer(Buffer.alloc(300, 1));
    expect(big.subarray(0, 4).toString('hex')).toBe('0282012c');
    const [e] = elements(big);
    expect(e!.value.length).toBe(300);
    expect(() => elements(big.subarray(0, 10))).toThrow(/truncated/);
  });
});

describe('generateLabCertificates', () => {
  let pki: LabPki;
  let dir: string;
  const now = new Date('2026-01-10T12:00:00Z');

  beforeAll(async () => {
    pki = await generateLabCertificates(
      {
        certificates: [
          { name: 'front-envoy', server: true, client: true },
          { name: 'service-gray', server: true },
          { name: 'service-purple', server: true },
        ],
      },
      // Smaller CA key than the script's 4096 bits keeps the test quick; the layout is the same.
      { now, caKeyBits: 2048 },
    );
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshcraft-certgen-'));
    for (const [rel, text] of Object.entries(pki.files)) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lays the files out as gencerts.sh does', () => {
    expect(Object.keys(pki.files).sort()).toEqual([
      'certs/CA/ca.crt',
      'certs/CA/ca.key',
      'certs/front-envoy/client.crt',
      'certs/front-envoy/client.key',
      'certs/front-envoy/server.crt',
      'certs/front-envoy/server.key',
      'certs/service-gray/server.crt',
      'certs/service-gray/server.key',
      'certs/service-purple/server.crt',
      'certs/service-purple/server.key',
    ]);
    expect(pki.files['certs/CA/ca.key']).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('numbers leaves from 0x1000 in the order asked, server before client', () => {
    expect(pki.certificates.map((c) => [c.name, c.role, c.serialNumber])).toEqual([
      ['front-envoy', 'server', '1000'],
      ['front-envoy', 'client', '1001'],
      ['service-gray', 'server', '1002'],
      ['service-purple', 'server', '1003'],
    ]);
    expect(pki.ca.serialNumber).toMatch(/^[0-7]?[0-9a-f]{1,39}$/);
  });

  it('makes certificates openssl verifies against the CA, with the script extensions', () => {
    const ca = path.join(dir, 'certs/CA/ca.crt');
    for (const c of pki.certificates) {
      const file = path.join(dir, c.certPath);
      expect(
        openssl(['verify', '-CAfile', ca, '-purpose', c.role === 'server' ? 'sslserver' : 'sslclient', file]),
      ).toBe(`${file}: OK\n`);
    }
    const server = openssl([
      'x509',
      '-noout',
      '-text',
      '-in',
      path.join(dir, 'certs/front-envoy/server.crt'),
    ]);
    expect(server).toContain('Version: 3 (0x2)');
    expect(server).toContain('Serial Number: 4096 (0x1000)');
    expect(server).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(server).toMatch(/Issuer: CN ?= ?envoy-ca/);
    expect(server).toMatch(/Subject: CN ?= ?front-envoy\n/);
    expect(server).toContain('Not Before: Jan 10 12:00:00 2026 GMT');
    expect(server).toContain('Not After : Jan  8 12:00:00 2036 GMT');
    expect(server).toContain('Public-Key: (2048 bit)');
    expect(server).toContain('X509v3 Basic Constraints: \n                CA:FALSE');
    expect(server).toContain('Netscape Cert Type: \n                SSL Server');
    expect(server).toContain('OpenSSL Generated Server Certificate');
    expect(server).toContain(
      'X509v3 Key Usage: critical\n                Digital Signature, Key Encipherment',
    );
    expect(server).toContain('TLS Web Server Authentication');
    expect(server).toMatch(/DirName:\/?CN ?= ?envoy-ca/);
    expect(server).not.toContain('Subject Alternative Name');

    const client = openssl([
      'x509',
      '-noout',
      '-text',
      '-in',
      path.join(dir, 'certs/front-envoy/client.crt'),
    ]);
    expect(client).toContain('SSL Client');
    expect(client).toContain('Digital Signature, Non Repudiation, Key Encipherment');
    expect(client).toContain('TLS Web Client Authentication');
    expect(client).not.toContain('DirName');

    const ca_ = openssl(['x509', '-noout', '-text', '-in', ca]);
    expect(ca_).toContain('X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0');
    expect(ca_).toContain(
      'X509v3 Key Usage: critical\n                Digital Signature, Certificate Sign, CRL Sign',
    );
  });

  it('pairs every key with its certificate and chains AKI to the CA SKI', () => {
    const caCert = new crypto.X509Certificate(pki.ca.certPem);
    expect(caCert.ca).toBe(true);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
    for (const c of pki.certificates) {
      const x509 = new crypto.X509Certificate(c.certPem);
      expect(x509.checkPrivateKey(crypto.createPrivateKey(c.keyPem))).toBe(true);
      expect(x509.verify(caCert.publicKey)).toBe(true);
      expect(x509.checkIssued(caCert)).toBe(true);
    }
    const ski = /Subject Key Identifier: \n\s+([0-9A-F:]+)/.exec(
      openssl(['x509', '-noout', '-text'], pki.ca.certPem),
    )![1];
    expect(openssl(['x509', '-noout', '-text'], pki.certificates[0]!.certPem)).toContain(ski);
  });

  it('signs with an existing CA when given one, continuing its tree', async () => {
    const more = await generateLabCertificates(
      { certificates: [{ name: 'blue', client: true }] },
      { ca: { certPem: pki.ca.certPem, keyPem: pki.ca.keyPem }, firstSerial: 0x1004 },
    );
    expect(more.ca.certPem).toBe(pki.ca.certPem);
    expect(more.ca.commonName).toBe('envoy-ca');
    const leaf = new crypto.X509Certificate(more.certificates[0]!.certPem);
    expect(leaf.serialNumber).toBe('1004');
    expect(leaf.verify(new crypto.X509Certificate(pki.ca.certPem).publicKey)).toBe(true);
    await expect(
      generateLabCertificates(
        { certificates: [] },
        { ca: { certPem: pki.ca.certPem, keyPem: pki.certificates[0]!.keyPem } },
      ),
    ).rejects.toThrow(/does not belong/);
  });
});
