import { describe, expect, it } from 'vitest';
import type { RouteConfiguration, Struct } from '../../config/types.js';
import { Runtime } from '../../runtime/runtime.js';
import { Store } from '../../stats/store.js';
import { HeaderMap } from '../headers.js';
import { CorsFilter, CorsFilterConfig, type CorsPolicyConfig } from './cors.js';
import { request, routes, TestStream } from './test-support.js';

const POLICY = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';
const NAME = 'envoy.filters.http.cors';
const typed = (p: CorsPolicyConfig) => ({ [NAME]: { '@type': POLICY, ...p } });

function setup(routeConfig: RouteConfiguration, runtimeLayer?: Struct) {
  const store = new Store();
  const runtime = new Runtime(
    runtimeLayer ? { layers: [{ name: 'static', static_layer: runtimeLayer }] } : undefined,
  );
  const config = new CorsFilterConfig(store.scope('http.ingress.'), runtime, () => 0, NAME);
  const stat = (name: string) => store.counters().find((c) => c.name === `http.ingress.cors.${name}`)?.value;
  const stream = (method: string, headers: Record<string, string>) => {
    const s = new TestStream(request(method, '/', headers), routeConfig, runtime);
    return { s, filter: new CorsFilter(s.callbacks, config) };
  };
  return { stat, stream };
}

const preflight = {
  origin: 'https://app.example',
  'access-control-request-method': 'PUT',
  'access-control-request-headers': 'x-a, x-b',
};

const policy: CorsPolicyConfig = {
  allow_origin_string_match: [{ suffix: '.example' }],
  allow_methods: 'GET, PUT',
  allow_headers: 'x-a, x-b',
  expose_headers: 'x-served-by',
  max_age: '600',
  allow_credentials: true,
};

/** Runs a response through the filter's encoder and returns its headers. */
function respond(filter: CorsFilter): [string, string][] {
  const response = { status: 200, headers: HeaderMap.from([['content-type', 'text/plain']]) };
  filter.encodeHeaders(response);
  return response.headers.entries();
}

describe('CORS filter', () => {
  it('answers a preflight itself with the policy (cors_response)', () => {
    const { stat, stream } = setup(routes({ typed_per_filter_config: typed(policy) }));
    const { s, filter } = stream('OPTIONS', preflight);
    expect(filter.decodeHeaders(s.request)).toBe('StopIteration');
    expect(s.encoded).toHaveLength(1);
    const { response, endStream } = s.encoded[0]!;
    expect(endStream).toBe(true);
    expect(response.status).toBe(200);
    expect(response.headers.entries()).toEqual([
      ['access-control-allow-origin', 'https://app.example'],
      ['access-control-allow-credentials', 'true'],
      ['access-control-allow-methods', 'GET, PUT'],
      ['access-control-allow-headers', 'x-a, x-b'],
      ['access-control-max-age', '600'],
    ]);
    expect(s.streamInfo.responseCodeDetails).toBe('cors_response');
    expect(stat('origin_valid')).toBe(1);
  });

  it('echoes the requested method and headers for "*"', () => {
    const { stream } = setup(
      routes({ typed_per_filter_config: typed({ ...policy, allow_methods: '*', allow_headers: '*' }) }),
    );
    const { s, filter } = stream('OPTIONS', preflight);
    filter.decodeHeaders(s.request);
    const h = s.encoded[0]!.response.headers;
    expect(h.get('access-control-allow-methods')).toBe('PUT');
    expect(h.get('access-control-allow-headers')).toBe('x-a, x-b');
  });

  it('adds allow-origin, credentials and expose headers to the response of an allowed actual request', () => {
    const { stat, stream } = setup(routes({ typed_per_filter_config: typed(policy) }));
    const { s, filter } = stream('GET', { origin: 'https://app.example' });
    expect(filter.decodeHeaders(s.request)).toBe('Continue');
    expect(respond(filter)).toEqual([
      ['content-type', 'text/plain'],
      ['access-control-allow-origin', 'https://app.example'],
      ['access-control-allow-credentials', 'true'],
      ['access-control-expose-headers', 'x-served-by'],
    ]);
    expect(stat('origin_valid')).toBe(1);
  });

  it('leaves a disallowed origin alone (origin_invalid) and forwards its preflight', () => {
    const { stat, stream } = setup(routes({ typed_per_filter_config: typed(policy) }));
    const actual = stream('GET', { origin: 'https://evil.test' });
    expect(actual.filter.decodeHeaders(actual.s.request)).toBe('Continue');
    expect(respond(actual.filter)).toEqual([['content-type', 'text/plain']]);
    const pre = stream('OPTIONS', { ...preflight, origin: 'https://evil.test' });
    expect(pre.filter.decodeHeaders(pre.s.request)).toBe('Continue');
    expect(pre.s.encoded).toEqual([]);
    expect(stat('origin_invalid')).toBe(2);
  });

  it('answers a disallowed preflight without allow-origin when forward_not_matching_preflights is false', () => {
    const { stream } = setup(
      routes({ typed_per_filter_config: typed({ ...policy, forward_not_matching_preflights: false }) }),
    );
    const { s, filter } = stream('OPTIONS', { ...preflight, origin: 'https://evil.test' });
    expect(filter.decodeHeaders(s.request)).toBe('StopIteration');
    expect(s.encoded[0]!.response.headers.has('access-control-allow-origin')).toBe(false);
  });

  it('ignores requests without an origin (no stats) and OPTIONS without a requested method', () => {
    const { stat, stream } = setup(routes({ typed_per_filter_config: typed(policy) }));
    const noOrigin = stream('OPTIONS', { 'access-control-request-method': 'PUT' });
    expect(noOrigin.filter.decodeHeaders(noOrigin.s.request)).toBe('Continue');
    expect(stat('origin_valid')).toBe(0);
    const plainOptions = stream('OPTIONS', { origin: 'https://app.example' });
    expect(plainOptions.filter.decodeHeaders(plainOptions.s.request)).toBe('Continue');
  });

  it('merges levels field by field, the route most specific', () => {
    const config = routes(
      {
        typed_per_filter_config: typed({
          allow_origin_string_match: [{ exact: 'https://a.example' }],
          max_age: '10',
        }),
        routes: [
          {
            match: { prefix: '/' },
            route: { cluster: 'web' },
            typed_per_filter_config: typed({ allow_methods: 'POST' }),
          },
        ],
      },
      { typed_per_filter_config: typed({ max_age: '99', allow_headers: 'x-c' }) },
    );
    const { s, filter } = setup(config).stream('OPTIONS', { ...preflight, origin: 'https://a.example' });
    filter.decodeHeaders(s.request);
    const h = s.encoded[0]!.response.headers;
    expect(h.get('access-control-allow-origin')).toBe('https://a.example');
    expect(h.get('access-control-allow-methods')).toBe('POST');
    expect(h.get('access-control-max-age')).toBe('10');
    expect(h.get('access-control-allow-headers')).toBe('x-c');
  });

  it('uses the older cors fields of the route and virtual host when no typed_per_filter_config sets a policy', () => {
    const config = routes({
      cors: { allow_origin_string_match: [{ exact: 'https://app.example' }], allow_methods: 'GET' },
      routes: [{ match: { prefix: '/' }, route: { cluster: 'web', cors: { allow_methods: 'DELETE' } } }],
    });
    const { s, filter } = setup(config).stream('OPTIONS', preflight);
    expect(filter.decodeHeaders(s.request)).toBe('StopIteration');
    expect(s.encoded[0]!.response.headers.get('access-control-allow-methods')).toBe('DELETE');
  });

  it('does nothing without any policy, and for direct responses', () => {
    const none = setup(routes()).stream('OPTIONS', preflight);
    expect(none.filter.decodeHeaders(none.s.request)).toBe('Continue');
    const direct = setup(
      routes({
        typed_per_filter_config: typed(policy),
        routes: [{ match: { prefix: '/' }, direct_response: { status: 200 } }],
      }),
    ).stream('OPTIONS', preflight);
    expect(direct.filter.decodeHeaders(direct.s.request)).toBe('Continue');
  });

  it('checks origins but enforces nothing in shadow mode; filter_enabled at 0 % turns it off', () => {
    const off = { default_value: { numerator: 0 }, runtime_key: 'cors.enabled' };
    const on = { default_value: { numerator: 100 }, runtime_key: 'cors.shadow' };
    const shadow = setup(
      routes({ typed_per_filter_config: typed({ ...policy, filter_enabled: off, shadow_enabled: on }) }),
    );
    const { s, filter } = shadow.stream('OPTIONS', preflight);
    expect(filter.decodeHeaders(s.request)).toBe('Continue');
    expect(respond(filter)).toEqual([['content-type', 'text/plain']]);
    expect(shadow.stat('origin_valid')).toBe(1);

    // Runtime turns the filter back on.
    const enabled = setup(routes({ typed_per_filter_config: typed({ ...policy, filter_enabled: off }) }), {
      'cors.enabled': 100,
    }).stream('OPTIONS', preflight);
    expect(enabled.filter.decodeHeaders(enabled.s.request)).toBe('StopIteration');
  });
});
