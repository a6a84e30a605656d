/**
 * How a readiness check reaches a container: from this machine through its published port when it
 * has one, else to its address on the lab network; an app listening on 127.0.0.1 inside its
 * namespace only from inside, with curl (which the runtime image carries).
 */
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { ReadinessView } from '../lab.js';
import { httpReady, type Probe, sleep, tcpReady } from '../readiness.js';
import type { ContainerStatus } from '../types.js';

export function dockerProbe(
  docker: Docker,
  s: Pick<ContainerStatus, 'name' | 'id' | 'address' | 'ports'>,
  r: ReadinessView,
): Probe {
  if (r.kind === 'tcp') {
    // Docker's port proxy accepts connections for a container that is not listening: dial the container itself.
    const host = s.address ?? r.address;
    if (!host) throw new Error(`${s.name}: a TCP readiness probe needs the container's address`);
    return { container: s.name, what: `TCP ${host}:${r.port}`, check: () => tcpReady(host, r.port) };
  }
  if (!r.insideNamespace) {
    const published = s.ports.find((p) => p.port === r.port && p.protocol === 'tcp');
    if (published) {
      return {
        container: s.name,
        what: `GET ${r.path} on ${published.host}:${published.hostPort}`,
        check: () => httpReady(published.host, published.hostPort, r.path),
      };
    }
    const host = s.address;
    if (host)
      return {
        container: s.name,
        what: `GET ${r.path} on ${host}:${r.port}`,
        check: () => httpReady(host, r.port, r.path),
      };
  }
  const url = `http://127.0.0.1:${r.port}${r.path}`;
  return {
    container: s.name,
    what: `GET ${url} inside the container`,
    check: () => execSucceeds(docker, s.id, ['curl', '-fsS', '-o', '/dev/null', '--max-time', '1', url]),
  };
}

async function execSucceeds(docker: Docker, containerId: string, cmd: string[]): Promise<boolean> {
  const exec = await docker
    .getContainer(containerId)
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = (await exec.start({})) as unknown as Readable;
  for await (const _ of stream) {
    // drain: the exec has finished when its output ends
  }
  for (let i = 0; i < 20; i++) {
    const info = await exec.inspect();
    if (!info.Running) return info.ExitCode === 0;
    await sleep(5);
  }
  return false;
}
