import { describe, expect, it } from 'vitest';
import { FaultSettings } from './fault.js';
import { compilePerFilterConfigs } from './per-route.js';

const T = 'type.googleapis.com/';

describe('typed_per_filter_config', () => {
  it('compiles each entry by its config type, keyed by filter name', () => {
    const configs = compilePerFilterConfigs({
      'my-fault': { '@type': `${T}envoy.extensions.filters.http.fault.v3.HTTPFault` },
    });
    expect(configs.get('my-fault')).toBeInstanceOf(FaultSettings);
  });

  it('unwraps envoy.config.route.v3.FilterConfig', () => {
    const configs = compilePerFilterConfigs({
      fault: {
        '@type': `${T}envoy.config.route.v3.FilterConfig`,
        config: { '@type': `${T}envoy.extensions.filters.http.fault.v3.HTTPFault` },
      },
    });
    expect(configs.get('fault')).toBeInstanceOf(FaultSettings);
  });

  it('refuses configs no filter takes per route, naming the filter', () => {
    expect(() =>
      compilePerFilterConfigs({
        'envoy.filters.http.health_check': {
          '@type': `${T}envoy.extensions.filters.http.health_check.v3.HealthCheck`,
          pass_through_mode: false,
        },
      }),
    ).toThrow(
      "typed_per_filter_config 'envoy.filters.http.health_check': the filter with config type 'envoy.extensions.filters.http.health_check.v3.HealthCheck' doesn't support virtual host or route specific configurations in meshcraft-proxy",
    );
  });
});
