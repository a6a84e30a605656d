import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../common/hash.js';
import type { RouteConfiguration } from '../../config/types.js';
import { Runtime } from '../../runtime/runtime.js';
import { HeaderMap, type RequestHead } from '../headers.js';
import { RouteTable } from './route-table.js';

function req(
  authority: string,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): RequestHead {
  return {
    method,
    path,
    authority,
    scheme: 'http',
    protocol: 'HTTP/1.1',
    headers: HeaderMap.from(Object.entries(headers)),
  };
}

const ctx = { random: 0, downstreamAddress: '127.0.0.1' };

// The course's httproute-simple-match lab (labs-day14b L7), normalized.
const simpleMatch: RouteConfiguration = {
  name: 'local_route',
  virtual_hosts: [
    {
      name: 'vh_001',
      domains: ['ilinux.io', '*.ilinux.io', 'ilinux.*'],
      routes: [
        { match: { path: '/service/blue' }, route: { cluster: 'blue' } },
        {
          match: { safe_regex: { google_re2: {}, regex: '^/service/.*blue$' } },
          redirect: { path_redirect: '/service/blue' },
        },
        {
          match: { prefix: '/service/yellow' },
          direct_response: {
            status: 200,
            body: { inline_string: 'This page will be provided soon later.\n' },
          },
        },
        { match: { prefix: '/' }, route: { cluster: 'red' } },
      ],
    },
    { name: 'vh_002', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'gray' } }] },
  ],
};

describe('RouteTable', () => {
  beforeAll(() => initHashing());
  const table = new RouteTable(simpleMatch, new Runtime(undefined));

  it('picks virtual hosts as the course lab shows (exact, *.suffix, prefix.*, then *)', () => {
    expect(table.findVirtualHost('www.fuck.com')?.name).toBe('vh_002');
    expect(table.findVirtualHost('www.ilinux.io')?.name).toBe('vh_001');
    expect(table.findVirtualHost('ilinux.io')?.name).toBe('vh_001');
    expect(table.findVirtualHost('ilinux.com')?.name).toBe('vh_001');
    expect(table.findVirtualHost('WWW.ILINUX.IO')?.name).toBe('vh_001');
  });

  it('prefers the longest wildcard and never matches an empty remainder', () => {
    const t = new RouteTable(
      {
        virtual_hosts: [
          { name: 'short', domains: ['*.io'], routes: [] },
          { name: 'long', domains: ['*.ilinux.io'], routes: [] },
          { name: 'pre', domains: ['api.*'], routes: [] },
        ],
      },
      new Runtime(undefined),
    );
    expect(t.findVirtualHost('a.ilinux.io')?.name).toBe('long');
    expect(t.findVirtualHost('a.b.io')?.name).toBe('short');
    expect(t.findVirtualHost('.ilinux.io')?.name).toBe('short');
    // Suffix wildcards win over prefix wildcards.
    expect(t.findVirtualHost('api.ilinux.io')?.name).toBe('long');
    expect(t.findVirtualHost('api.example')?.name).toBe('pre');
    expect(t.findVirtualHost('api.')).toBeUndefined();
  });

  it('matches routes in order, first match wins, regex on the path without query', () => {
    expect(table.route(req('www.ilinux.io', '/service/blue'), ctx)?.action?.cluster).toBe('blue');
    const r = table.route(req('www.ilinux.io', '/service/dark_blue?x=1'), ctx);
    expect(r?.kind).toBe('redirect');
    expect(r?.redirectLocation(req('www.ilinux.io', '/service/dark_blue?x=1'))).toBe(
      'http://www.ilinux.io/service/blue?x=1',
    );
    expect(r?.redirectStatus()).toBe(301);
    expect(table.route(req('www.ilinux.io', '/service/yellow'), ctx)?.directResponse?.body.toString()).toBe(
      'This page will be provided soon later.\n',
    );
    expect(table.route(req('www.ilinux.io', '/service/a'), ctx)?.action?.cluster).toBe('red');
    expect(table.route(req('www.fuck.com', '/service/a'), ctx)?.action?.cluster).toBe('gray');
  });

  it('routes by header and query parameter as the httproute-headers-match lab does', () => {
    const t = new RouteTable(
      {
        virtual_hosts: [
          {
            name: 'vh_001',
            domains: ['*'],
            routes: [
              {
                match: { prefix: '/', headers: [{ name: 'X-Canary', exact_match: 'true' }] },
                route: { cluster: 'demoappv12' },
              },
              {
                match: {
                  prefix: '/',
                  query_parameters: [{ name: 'username', string_match: { prefix: 'vip_' } }],
                },
                route: { cluster: 'demoappv11' },
              },
              { match: { prefix: '/' }, route: { cluster: 'demoappv10' } },
            ],
          },
        ],
      },
      new Runtime(undefined),
    );
    const cluster = (path: string, h: Record<string, string> = {}) =>
      t.route(req('x', path, h), ctx)?.action?.cluster;
    expect(cluster('/hostname')).toBe('demoappv10');
    expect(cluster('/hostname', { 'x-canary': 'true' })).toBe('demoappv12');
    expect(cluster('/hostname?username=vip_ilinux')).toBe('demoappv11');
    expect(cluster('/hostname?username=vip_ilinux', { 'x-canary': 'true' })).toBe('demoappv12');
    expect(cluster('/hostname?username=ilinux')).toBe('demoappv10');
    expect(cluster('/hostname', { 'x-canary': 'false' })).toBe('demoappv10');
  });

  it('supports header matcher variants, invert_match and presence', () => {
    const t = new RouteTable(
      {
        virtual_hosts: [
          {
            name: 'v',
            domains: ['*'],
            routes: [
              {
                name: 'absent',
                match: {
                  prefix: '/',
                  headers: [
                    { name: 'x-a', present_match: false },
                    { name: 'x-b', present_match: true },
                  ],
                },
                route: { cluster: 'a' },
              },
              {
                name: 'inv',
                match: {
                  prefix: '/',
                  headers: [{ name: 'x-env', string_match: { exact: 'prod' }, invert_match: true }],
                },
                route: { cluster: 'b' },
              },
              {
                name: 'suffix',
                match: { prefix: '/', headers: [{ name: 'user-agent', suffix_match: 'Chrome' }] },
                route: { cluster: 'c' },
              },
              {
                name: 'range',
                match: { prefix: '/', headers: [{ name: 'x-n', range_match: { start: 10, end: 20 } }] },
                route: { cluster: 'd' },
              },
            ],
          },
        ],
      },
      new Runtime(undefined),
    );
    const name = (h: Record<string, string>) => t.route(req('x', '/', h), ctx)?.name;
    expect(name({ 'x-b': '1' })).toBe('absent');
    expect(name({ 'x-a': '1', 'x-b': '1', 'x-env': 'dev' })).toBe('inv');
    expect(name({ 'x-env': 'prod', 'user-agent': 'Mozilla Chrome' })).toBe('suffix');
    expect(name({ 'x-env': 'prod', 'x-n': '15' })).toBe('range');
    expect(name({ 'x-env': 'prod', 'x-n': '20' })).toBeUndefined();
  });

  it('builds https redirects with the port as Envoy does', () => {
    const t = new RouteTable(
      {
        virtual_hosts: [
          {
            name: 'v',
            domains: ['*'],
            routes: [
              { match: { prefix: '/keep' }, redirect: { https_redirect: true } },
              { match: { prefix: '/' }, redirect: { https_redirect: true, port_redirect: 443 } },
            ],
          },
        ],
      },
      new Runtime(undefined),
    );
    const loc = (host: string, path: string) =>
      t.route(req(host, path), ctx)!.redirectLocation(req(host, path));
    expect(loc('172.31.90.10', '/service/gray')).toBe('https://172.31.90.10:443/service/gray');
    expect(loc('example.com:80', '/keep')).toBe('https://example.com/keep');
    expect(loc('example.com:8080', '/keep')).toBe('https://example.com:8080/keep');
  });

  it('rewrites prefixes and regexes on the way upstream', () => {
    const t = new RouteTable(
      {
        virtual_hosts: [
          {
            name: 'v',
            domains: ['*'],
            routes: [
              { match: { prefix: '/api/' }, route: { cluster: 'c', prefix_rewrite: '/' } },
              {
                match: { prefix: '/r' },
                route: {
                  cluster: 'c',
                  regex_rewrite: { pattern: { regex: '^/r/(\\w+)/x$' }, substitution: '/\\1' },
                },
              },
            ],
          },
        ],
      },
      new Runtime(undefined),
    );
    expect(t.route(req('x', '/api/v1/users?a=1'), ctx)!.rewritePath('/api/v1/users?a=1')).toBe(
      '/v1/users?a=1',
    );
    expect(t.route(req('x', '/r/abc/x'), ctx)!.rewritePath('/r/abc/x')).toBe('/abc');
  });

  it('splits weighted clusters by the stream random and follows runtime overrides', () => {
    const runtime = new Runtime({ layers: [{ name: 'admin', admin_layer: {} }] });
    const t = new RouteTable(
      {
        virtual_hosts: [
          {
            name: 'v',
            domains: ['*'],
            routes: [
              {
                match: { prefix: '/' },
                route: {
                  weighted_clusters: {
                    runtime_key_prefix: 'routing.traffic_split.demoapp',
                    clusters: [
                      { name: 'v1', weight: 100 },
                      { name: 'v2', weight: 0 },
                    ],
                  },
                },
              },
            ],
          },
        ],
      },
      runtime,
    );
    const r = t.route(req('x', '/'), ctx)!;
    const pick = (random: number) => r.selectCluster(req('x', '/'), { random, downstreamAddress: '' }).name;
    expect([0, 37, 99].map(pick)).toEqual(['v1', 'v1', 'v1']);
    runtime.modify({ 'routing.traffic_split.demoapp.v1': '20', 'routing.traffic_split.demoapp.v2': '80' });
    expect([0, 19, 20, 99].map(pick)).toEqual(['v1', 'v1', 'v2', 'v2']);
  });

  it('hashes requests by header so the same User-Agent gets the same hash', () => {
    const t = new RouteTable(
      {
        virtual_hosts: [
          {
            name: 'v',
            domains: ['*'],
            routes: [
              {
                match: { prefix: '/' },
                route: { cluster: 'c', hash_policy: [{ header: { header_name: 'User-Agent' } }] },
              },
            ],
          },
        ],
      },
      new Runtime(undefined),
    );
    const r = t.route(req('x', '/'), ctx)!;
    const h = (ua?: string) => r.hashKey(req('x', '/', ua ? { 'user-agent': ua } : {}), '10.0.0.1');
    expect(h('Chrome')).toBe(h('Chrome'));
    expect(h('Chrome')).not.toBe(h('360'));
    expect(h()).toBeUndefined();
  });
});
