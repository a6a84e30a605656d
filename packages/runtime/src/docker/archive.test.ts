import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import type { ContainerView } from '../lab.js';
import { containerArchive, containerFiles } from './archive.js';

const container: ContainerView = {
  name: 'envoy',
  node: 'front-envoy',
  replica: 1,
  namespace: 'front-envoy',
  role: 'proxy',
  image: 'meshcraft-runtime:latest',
  env: {},
  network: { owner: true, aliases: [] },
  mounts: [
    { source: 'envoy/envoy.yaml', target: '/etc/envoy/envoy.yaml', directory: false },
    { source: 'envoy/eds.conf.d/', target: '/etc/envoy/eds.conf.d/', directory: true },
  ],
  publish: [],
  hostPorts: [],
  dependsOn: [],
};

const files = {
  'envoy/envoy.yaml': 'admin: {}\n',
  'envoy/eds.conf.d/web.yaml': 'resources: []\n',
  'other/envoy.yaml': 'not mounted\n',
};

describe('containerFiles', () => {
  it('maps file mounts and every file under a directory mount to container paths', () => {
    expect([...containerFiles(container, files)]).toEqual([
      ['/etc/envoy/envoy.yaml', 'admin: {}\n'],
      ['/etc/envoy/eds.conf.d/web.yaml', 'resources: []\n'],
    ]);
  });
});

describe('containerArchive', () => {
  it('is a tar of the files with their parent directories, relative to /', async () => {
    const archive = await containerArchive(container, files);
    const entries: { name: string; type: string; body: string }[] = [];
    const extract = tar.extract();
    extract.end(archive);
    for await (const entry of extract) {
      let body = '';
      for await (const chunk of entry) body += String(chunk);
      entries.push({ name: entry.header.name, type: entry.header.type ?? 'file', body });
    }
    expect(entries).toEqual([
      { name: 'etc', type: 'directory', body: '' },
      { name: 'etc/envoy', type: 'directory', body: '' },
      { name: 'etc/envoy/eds.conf.d', type: 'directory', body: '' },
      { name: 'etc/envoy/eds.conf.d/web.yaml', type: 'file', body: 'resources: []\n' },
      { name: 'etc/envoy/envoy.yaml', type: 'file', body: 'admin: {}\n' },
    ]);
  });

  it('is absent for a container that mounts nothing', async () => {
    expect(await containerArchive({ ...container, mounts: [] }, files)).toBeUndefined();
  });
});
