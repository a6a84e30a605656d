/**
 * A TLS lab on the local driver: the runtime generates the certificates the lab asks for
 * (`spec.pki`) with meshcraft-proxy's generator, every proxy mounts them, and traffic goes over
 * one-way TLS and mutual TLS as the course's tls-static lab shows. `down` removes them.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LabPkiStore } from '../../src/pki.js';
import { Runtime } from '../../src/runtime.js';
import type { PublishedPort } from '../../src/types.js';
import { libraryLab, port, request } from '../helpers.js';

const NAME = 'mctest-local-tls';
let stateDir: string;
let pkiDir: string;
let runtime: Runtime;

beforeAll(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'meshcraft-local-tls-'));
  pkiDir = path.join(stateDir, 'pki');
  runtime = new Runtime({ local: { stateDir: path.join(stateDir, 'labs') }, pkiDir });
});

afterAll(async () => {
  await runtime.down(NAME).catch(() => {});
  await rm(stateDir, { recursive: true, force: true });
});

function httpsGet(
  p: PublishedPort,
  pathname: string,
  ca: string,
): Promise<{ status: number; body: string; peer: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      // The front proxy's certificate names its CN only (like gencerts.sh), so check the chain, not the name.
      {
        host: p.host,
        port: p.hostPort,
        path: pathname,
        ca,
        agent: false,
        checkServerIdentity: () => undefined,
      },
      (res) => {
        const peer = String((res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN);
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, peer }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

it('generates the lab certificates and serves plain, one-way TLS and mTLS traffic; down removes them', async () => {
  const status = await runtime.up(libraryLab('tls-static', NAME), { driver: 'local' });
  const files = new LabPkiStore(pkiDir).files(NAME);
  expect(Object.keys(files)).toEqual(
    expect.arrayContaining([
      'certs/CA/ca.crt',
      'certs/front-envoy/server.crt',
      'certs/front-envoy/client.crt',
      'certs/service-purple/server.key',
    ]),
  );
  const ca = files['certs/CA/ca.crt']!;

  const plain = port(status, 'front-envoy', 'listener_http');
  const redirect = await request(plain, '/service/gray');
  expect(redirect.status).toBe(301);

  const tls = port(status, 'front-envoy', 'listener_https');
  const gray = await httpsGet(tls, '/service/gray', ca);
  expect(gray.peer).toBe('front-envoy');
  expect(gray.body).toMatch(/^Hello from App behind Envoy \(service gray\)!/);
  const purple = await httpsGet(tls, '/service/purple', ca);
  expect(purple.body).toMatch(/^Hello from App behind Envoy \(service purple\)!/);
  const rest = await httpsGet(tls, '/service/blue', ca);
  expect(rest.status).toBe(200);

  await runtime.down(NAME);
  expect(existsSync(path.join(pkiDir, NAME))).toBe(false);
});
