import { afterEach, describe, expect, it } from 'vitest';
import { type CheckerFixture, closedPort, makeChecker, TestTcpServer, waitFor } from './test-support.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(reply?: (d: Buffer) => Buffer | undefined): Promise<TestTcpServer> {
  const s = await new TestTcpServer(reply).listen();
  cleanups.push(() => s.close());
  return s;
}

function checker(...args: Parameters<typeof makeChecker>): CheckerFixture {
  const f = makeChecker(...args);
  cleanups.push(() => f.checker.stop());
  return f;
}

const hex = (s: string) => Buffer.from(s).toString('hex');
/** Answers PONG to every PING, as a line-oriented service would. */
const pong = (d: Buffer) => (d.toString().includes('PING') ? Buffer.from('+PONG\r\n') : undefined);

describe('TCP health checking', () => {
  it('with an empty tcp_health_check, passes on connect and closes each time', async () => {
    const s = await server();
    const f = checker({ tcp_health_check: {} }, [s.port]);
    f.checker.start();
    await f.checker.initialized();
    expect(f.hosts[0]!.healthFlagsString()).toBe('healthy');
    await waitFor(() => s.connections >= 3, '3 connect checks');
    expect(f.stat('success')).toBeGreaterThanOrEqual(2);
  });

  it('fails on connection refused, counting toward the threshold', async () => {
    const s = await server();
    const f = checker({ tcp_health_check: {}, unhealthy_threshold: 2 }, [s.port]);
    f.checker.start();
    await f.checker.initialized();
    await s.close();
    await waitFor(() => f.hosts[0]!.hasFlag('failed_active_hc'), 'host to fail');
    expect(f.transitions.at(-1)!.failures).toBe(2);
    expect(f.stat('network_failure')).toBe(f.stat('failure'));
  });

  it('sends the payload and passes when every receive payload comes back in order', async () => {
    const s = await server(pong);
    const f = checker(
      {
        tcp_health_check: {
          send: { text: hex('PING\r\n') },
          receive: [{ text: hex('+PO') }, { text: hex('NG') }],
        },
      },
      [s.port],
    );
    f.checker.start();
    await f.checker.initialized();
    expect(f.hosts[0]!.healthFlagsString()).toBe('healthy');
    expect(Buffer.concat(s.received).toString()).toContain('PING\r\n');
    await waitFor(() => s.received.length >= 3, 'repeated checks');
    // reuse_connection (default): one connection for every check.
    expect(s.connections).toBe(1);
  });

  it('accepts binary (base64) payloads', async () => {
    const s = await server(pong);
    const f = checker(
      {
        tcp_health_check: {
          send: { binary: Buffer.from('PING').toString('base64') },
          receive: [{ binary: 'K1BPTkc=' }],
        },
      },
      [s.port],
    );
    f.checker.start();
    await f.checker.initialized();
    expect(f.hosts[0]!.healthFlagsString()).toBe('healthy');
  });

  it('times out when the payloads never come back in the expected order', async () => {
    const s = await server(pong);
    const f = checker(
      {
        tcp_health_check: {
          send: { text: hex('PING') },
          receive: [{ text: hex('NG') }, { text: hex('PO') }],
        },
        timeout: '0.100s',
      },
      [s.port],
    );
    f.checker.start();
    await f.checker.initialized();
    expect(f.hosts[0]!.healthFlagsString()).toBe('/failed_active_hc/active_hc_timeout');
    expect(f.stat('network_failure')).toBe(1);
  });

  it('opens a connection per check with reuse_connection: false', async () => {
    const s = await server(pong);
    const f = checker(
      {
        tcp_health_check: { send: { text: hex('PING') }, receive: [{ text: hex('PONG') }] },
        reuse_connection: false,
      },
      [s.port],
    );
    f.checker.start();
    await waitFor(() => f.stat('success') >= 3, '3 checks');
    expect(s.connections).toBeGreaterThanOrEqual(3);
  });

  it('leaves a host that cannot be reached failed after its first check', async () => {
    const f = checker({ tcp_health_check: {} }, [await closedPort()]);
    f.checker.start();
    await f.checker.initialized();
    expect(f.hosts[0]!.healthFlagsString()).toBe('/failed_active_hc');
  });
});
