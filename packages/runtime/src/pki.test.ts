import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { LabPkiStore } from './pki.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const request = {
  caCommonName: 'envoy-ca',
  caDir: 'certs/CA/',
  certificates: [
    {
      name: 'front-envoy',
      commonName: 'front-envoy',
      server: true,
      client: false,
      dir: 'certs/front-envoy/',
    },
  ],
};

it('generates a lab’s certificates once, keeps them for the same request, and renews them for another', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'meshcraft-pki-'));
  dirs.push(dir);
  const store = new LabPkiStore(dir);
  expect(store.files('lab')).toEqual({});
  await store.ensure('lab', request);
  const first = store.files('lab');
  expect(Object.keys(first).sort()).toEqual([
    'certs/CA/ca.crt',
    'certs/CA/ca.key',
    'certs/front-envoy/server.crt',
    'certs/front-envoy/server.key',
  ]);
  expect(first['certs/CA/ca.crt']).toMatch(/^-----BEGIN CERTIFICATE-----/);
  // The same request again (a live edit, a restarted console): the very same files.
  await new LabPkiStore(dir).ensure('lab', request);
  expect(store.files('lab')).toEqual(first);
  // Another request: new certificates.
  await store.ensure('lab', {
    ...request,
    certificates: [
      ...request.certificates,
      { name: 'gray', commonName: 'gray', server: true, client: false, dir: 'certs/gray/' },
    ],
  });
  const second = store.files('lab');
  expect(second['certs/gray/server.crt']).toBeDefined();
  expect(second['certs/CA/ca.crt']).not.toBe(first['certs/CA/ca.crt']);
  store.remove('lab');
  expect(store.files('lab')).toEqual({});
}, 60_000);
