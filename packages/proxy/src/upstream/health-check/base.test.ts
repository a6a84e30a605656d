import { describe, expect, it } from 'vitest';
import { Runtime } from '../../runtime/runtime.js';
import { seededRandom } from '../load-balancer/test-support.js';
import { baseInterval, intervalsOf, withJitter } from './base.js';
import { payloadBytes, payloadMatches } from './payload.js';

const config = { timeout: '5s', interval: '10s', healthy_threshold: 2, unhealthy_threshold: 2 };

describe('health-check intervals', () => {
  it('applies Envoy defaults', () => {
    expect(intervalsOf(config)).toEqual({
      interval: 10_000,
      noTraffic: 60_000,
      noTrafficHealthy: 60_000,
      unhealthy: 10_000,
      unhealthyEdge: 10_000,
      healthyEdge: 10_000,
      intervalJitter: 0,
      intervalJitterPercent: 0,
      initialJitter: 0,
    });
    // unhealthy_edge_interval defaults to unhealthy_interval, not interval.
    expect(intervalsOf({ ...config, unhealthy_interval: '30s' }).unhealthyEdge).toBe(30_000);
  });

  it('picks the interval for the host state and pending transition', () => {
    const i = intervalsOf({
      ...config,
      no_traffic_interval: '60s',
      no_traffic_healthy_interval: '120s',
      unhealthy_interval: '30s',
      unhealthy_edge_interval: '3s',
      healthy_edge_interval: '1s',
    });
    expect(baseInterval(i, true, 'unchanged', true)).toBe(10_000);
    expect(baseInterval(i, true, 'changed', true)).toBe(10_000);
    expect(baseInterval(i, true, 'pending', true)).toBe(1_000);
    expect(baseInterval(i, false, 'unchanged', true)).toBe(30_000);
    expect(baseInterval(i, false, 'pending', true)).toBe(3_000);
    expect(baseInterval(i, true, 'unchanged', false)).toBe(120_000);
    expect(baseInterval(i, true, 'pending', false)).toBe(60_000);
    expect(baseInterval(i, false, 'unchanged', false)).toBe(60_000);
  });

  it('adds interval_jitter and interval_jitter_percent uniformly', () => {
    const i = intervalsOf({ ...config, interval_jitter: '1s', interval_jitter_percent: 10 });
    const random = seededRandom(9);
    const samples = Array.from({ length: 2000 }, () => withJitter(10_000, 1000, i, random));
    // 10 s + [0, 1 s) percent jitter + [0, 1 s) fixed jitter.
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(10_000);
    expect(Math.max(...samples)).toBeLessThan(12_000);
    // The sum of two uniforms on [0, 1000) has mean 1000 and sd 408; the mean of 2000 samples
    // has sd 9.1, so a band of ±45 is 4.9 sd.
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    expect(Math.abs(mean - 11_000)).toBeLessThan(45);
  });

  it('clamps to health_check.min_interval / max_interval and never goes below 1 ms', () => {
    const i = intervalsOf(config);
    const runtime = new Runtime({
      layers: [
        { name: 'static', static_layer: { health_check: { min_interval: 2000, max_interval: 5000 } } },
      ],
    });
    expect(withJitter(10_000, 0, i, Math.random, runtime)).toBe(5000);
    expect(withJitter(100, 0, i, Math.random, runtime)).toBe(2000);
    expect(withJitter(0, 0, i, Math.random)).toBe(1);
  });
});

describe('payloads', () => {
  it('decodes text as hex and binary as base64', () => {
    expect(payloadBytes({ text: '50494E47' }, 'send').toString()).toBe('PING');
    expect(payloadBytes({ binary: 'UElORw==' }, 'send').toString()).toBe('PING');
    expect(() => payloadBytes({ text: 'PING' }, 'send')).toThrow(/send.text: 'PING' is not hex-encoded/);
  });

  it('matches segments in order, each after the previous', () => {
    const data = Buffer.from('+PONG\r\n');
    expect(payloadMatches([Buffer.from('PO'), Buffer.from('NG')], data)).toBe(true);
    expect(payloadMatches([Buffer.from('NG'), Buffer.from('PO')], data)).toBe(false);
    expect(payloadMatches([Buffer.from('O'), Buffer.from('O')], data)).toBe(false);
    expect(payloadMatches([], data)).toBe(true);
  });
});
