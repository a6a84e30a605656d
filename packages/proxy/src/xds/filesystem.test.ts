import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../common/hash.js';
import { LogRegistry } from '../common/logger.js';
import { Store } from '../stats/store.js';
import { FilesystemSubscription } from './filesystem.js';
import { CLUSTER_LOAD_ASSIGNMENT, type DecodedResource } from './resources.js';
import { SubscriptionStats } from './subscription.js';

beforeAll(initHashing);

const eds = (version: string, ...ports: number[]) =>
  `version_info: "${version}"\nresources:\n- "@type": type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment\n  cluster_name: web\n  endpoints:\n  - lb_endpoints:\n${ports
    .map((p) => `    - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: ${p}}}}\n`)
    .join('')}`;

let dir: string;
let subscription: FilesystemSubscription | undefined;
afterEach(() => {
  subscription?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function subscribe(file: string, watchedDirectory?: string) {
  const updates: string[] = [];
  const stats = new SubscriptionStats(new Store().scope('cluster.web.'));
  subscription = new FilesystemSubscription(
    file,
    watchedDirectory,
    CLUSTER_LOAD_ASSIGNMENT,
    {
      onConfigUpdate: (resources: DecodedResource[], version: string) => {
        updates.push(version);
        expect(resources.map((r) => r.name)).toEqual(['web']);
      },
      onConfigUpdateFailed: () => {},
    },
    stats,
    new LogRegistry('off').get('config', 'test'),
  );
  subscription.start();
  return { updates, stats };
}

const settle = () => new Promise((r) => setTimeout(r, 300));

describe('filesystem subscriptions', () => {
  it('reload when a file is moved onto the path (the mv trick, or a temp file renamed), not on writes in place', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fs-sub-'));
    const file = path.join(dir, 'eds.yaml');
    fs.writeFileSync(file, eds('1', 80));
    const { updates, stats } = subscribe(file);
    expect(updates).toEqual(['1']);

    fs.writeFileSync(file, eds('2', 80, 81));
    fs.appendFileSync(file, '');
    await settle();
    expect(updates).toEqual(['1']);

    fs.renameSync(file, path.join(dir, 'bak'));
    fs.renameSync(path.join(dir, 'bak'), file);
    await expect.poll(() => updates).toEqual(['1', '2']);

    fs.writeFileSync(path.join(dir, 'next'), eds('3', 82));
    fs.renameSync(path.join(dir, 'next'), file);
    await expect.poll(() => updates).toEqual(['1', '2', '3']);

    // Another file of the directory moving does not concern this subscription.
    fs.writeFileSync(path.join(dir, 'other.yaml'), 'x');
    fs.renameSync(path.join(dir, 'other.yaml'), path.join(dir, 'other2.yaml'));
    await settle();
    expect(updates).toEqual(['1', '2', '3']);
    expect(stats.update_success.value).toBe(3);
  });

  it('reject a file that does not validate and keep the last good one', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fs-sub-'));
    const file = path.join(dir, 'eds.yaml');
    fs.writeFileSync(file, eds('1', 80));
    const { updates, stats } = subscribe(file);
    fs.writeFileSync(path.join(dir, 'next'), eds('2', 70000));
    fs.renameSync(path.join(dir, 'next'), file);
    await expect.poll(() => stats.update_rejected.value).toBe(1);
    expect(updates).toEqual(['1']);
  });

  it('with a watched_directory, reload on any move into it (a ConfigMap swapping its ..data link)', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fs-sub-'));
    const file = path.join(dir, 'eds.yaml');
    fs.writeFileSync(file, eds('1', 80));
    const { updates } = subscribe(file, dir);
    fs.writeFileSync(file, eds('2', 81));
    fs.writeFileSync(path.join(dir, '..tmp'), '');
    fs.renameSync(path.join(dir, '..tmp'), path.join(dir, '..data'));
    await expect.poll(() => updates).toEqual(['1', '2']);
  });

  it('refuse a path that does not exist, as Envoy does', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fs-sub-'));
    expect(() => subscribe(path.join(dir, 'missing.yaml'))).toThrow(
      /paths must refer to an existing path in the system: '.*missing\.yaml' does not exist/,
    );
  });
});
