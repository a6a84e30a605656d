/** Shared pieces of the local and docker integration tests. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { type Lab, parseLab } from '@meshcraft/topology';
import type { LabJob } from '../src/driver.js';
import type { ContainerView } from '../src/lab.js';
import { sleep } from '../src/readiness.js';
import { topologyJob } from '../src/topology-job.js';
import type { LabStatus, PublishedPort } from '../src/types.js';

export const LABS_DIR = fileURLToPath(new URL('../../../labs/', import.meta.url));

/** A lab of the library, under another name so tests never touch a lab someone runs. */
export function libraryLab(file: string, name: string): Lab {
  const parsed = parseLab(readFileSync(`${LABS_DIR}${file}.lab.yaml`, 'utf8'));
  if (!parsed.lab) throw new Error(`${file}: ${parsed.issues.map((i) => i.message).join('; ')}`);
  return { ...parsed.lab, metadata: { ...parsed.lab.metadata, name } };
}

/** A runtime's state directories for a test: the local driver's, and the docker driver's records beside it. */
export function runtimeOptions(stateDir: string): {
  local: { stateDir: string };
  docker: { stateDir: string };
} {
  return { local: { stateDir }, docker: { stateDir: `${stateDir}-docker` } };
}

/** A job whose rendered containers pass through `change` (to make one crash, say). */
export function changedJob(change: (c: ContainerView) => ContainerView): (lab: Lab) => LabJob {
  return (lab) => {
    const job = topologyJob(lab);
    return {
      ...job,
      render: (plan, options) => {
        const rendered = job.render(plan, options);
        return { ...rendered, containers: rendered.containers.map(change) };
      },
    };
  };
}

/** The container exits at once after printing a line, as a program refusing its config would. */
export function crashing(container: string): (c: ContainerView) => ContainerView {
  return (c) =>
    c.name === container
      ? {
          ...c,
          command: [
            'node',
            '-e',
            "console.error('demoapp: cannot start: deliberately broken for the test'); process.exit(3)",
          ],
        }
      : c;
}

export function port(status: LabStatus, container: string, name: string): PublishedPort {
  const c = status.containers.find((x) => x.name === container);
  const p = c?.ports.find((x) => x.name === name);
  if (!p) throw new Error(`${container} publishes no port '${name}': ${JSON.stringify(c?.ports)}`);
  return p;
}

export function request(
  p: PublishedPort,
  path: string,
  options: { method?: string; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: p.host,
        port: p.hostPort,
        path,
        method: options.method ?? 'GET',
        agent: false,
        headers:
          options.body !== undefined
            ? {
                'content-type': 'application/x-www-form-urlencoded',
                'content-length': Buffer.byteLength(options.body),
              }
            : {},
        timeout: 5000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${path}`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The ServerName of `n` responses through a listener, in order. */
export async function serverNames(p: PublishedPort, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const { body } = await request(p, '/');
    out.push(/ServerName: ([^,]+),/.exec(body)?.[1] ?? `(${body.trim()})`);
  }
  return out;
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`);
}

/**
 * The health-check lab's scenario, on either driver: traffic round-robins over red and blue,
 * livez=FAIL takes red out once the front proxy's probes fail twice, livez=OK brings it back.
 */
export async function checkHealthCheckLab(status: LabStatus): Promise<void> {
  const front = port(status, 'envoy', 'listener_0');
  const names = await serverNames(front, 4);
  const expectAlternating = (seq: string[]) => {
    for (let i = 1; i < seq.length; i++) if (seq[i] === seq[i - 1]) return false;
    return new Set(seq).size === 2 && seq.includes('red') && seq.includes('blue');
  };
  if (!expectAlternating(names))
    throw new Error(`traffic does not round-robin over red and blue: ${names.join(', ')}`);

  // As the course does it: through red's sidecar, which forwards /livez to the app (and is what
  // the front proxy's health check sees).
  const redSidecar = port(status, 'webserver01-sidecar', 'listener_0');
  const setLivez = async (value: 'OK' | 'FAIL') => {
    const res = await request(redSidecar, '/livez', { method: 'POST', body: `livez=${value}` });
    if (res.status !== 200) throw new Error(`POST livez=${value} answered ${res.status} ${res.body}`);
  };
  await setLivez('FAIL');
  const now = await request(redSidecar, '/livez');
  if (now.status !== 506 || now.body !== 'FAIL')
    throw new Error(`red's /livez answers ${now.status} ${now.body}`);

  // Like Envoy, the front proxy checks a cluster that had no traffic yet every no_traffic_interval
  // (60 s), and the check after its first one was scheduled then; from there interval 10 s and
  // unhealthy_threshold 2: red is out within about 60 + 2 × 10 s of up.
  const admin = port(status, 'envoy', 'admin');
  const red = status.containers
    .find((c) => c.name === 'webserver01-sidecar')!
    .address!.replaceAll('.', '\\.');
  await waitFor(
    'red to be marked failed_active_hc',
    async () =>
      new RegExp(`^web_cluster_01::${red}:\\d+::health_flags::/failed_active_hc`, 'm').test(
        (await request(admin, '/clusters')).body,
      ),
    100_000,
  );
  const after = await serverNames(front, 6);
  if (after.some((n) => n !== 'blue'))
    throw new Error(`with red failing, traffic still reaches it: ${after.join(', ')}`);

  await setLivez('OK');
  // unhealthy_interval 10 s and healthy_threshold 2: back within about 20 s.
  await waitFor(
    'red to be back in rotation',
    async () => (await serverNames(front, 4)).includes('red'),
    40_000,
  );
}

/**
 * Runs test/fixtures/console.mjs (a console bringing a lab up) as a separate process and
 * SIGKILLs it as soon as `killWhen` matches a line it printed — the console dying mid-lab.
 */
export async function runKilledConsole(args: {
  lab: string;
  name: string;
  driver: 'docker' | 'local';
  stateDir: string;
  killWhen: RegExp;
}): Promise<string[]> {
  const script = fileURLToPath(new URL('fixtures/console.mjs', import.meta.url));
  const child = spawn(
    process.execPath,
    [script, `${LABS_DIR}${args.lab}.lab.yaml`, args.name, args.driver, args.stateDir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    let carry = '';
    child.stdout.on('data', (d: Buffer) => {
      const parts = (carry + d.toString()).split('\n');
      carry = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (args.killWhen.test(line)) child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(lines);
      else
        reject(
          new Error(
            `the console exited by itself (code ${code}) before it was killed:\n${lines.join('\n')}\n${stderr}`,
          ),
        );
    });
  });
}
