/**
 * Connecting to the Docker engine, and saying clearly when it does not answer.
 */
import Docker from 'dockerode';
import { RuntimeError } from '../errors.js';

export interface EngineOptions {
  /** Unix socket of the engine; default DOCKER_HOST's, else /var/run/docker.sock. */
  socketPath?: string;
  /** How long `ping` may take before the engine counts as not answering. */
  pingTimeoutMs?: number;
}

export function dockerClient(options: EngineOptions = {}): Docker {
  return options.socketPath ? new Docker({ socketPath: options.socketPath }) : new Docker();
}

export function socketOf(docker: Docker): string {
  const m = docker.modem as { socketPath?: string; host?: string; port?: number };
  return m.socketPath ?? `${m.host}:${m.port}`;
}

/** Resolves when the engine answers; otherwise throws DOCKER_UNAVAILABLE saying how to start it. */
export async function pingEngine(docker: Docker, timeoutMs = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(Object.assign(new Error(`no answer in ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
          timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    throw engineUnavailable(docker, err);
  } finally {
    clearTimeout(timer);
  }
}

export function engineUnavailable(docker: Docker, err: unknown): RuntimeError {
  const code = (err as NodeJS.ErrnoException).code;
  const where = socketOf(docker);
  if (code === 'EACCES') {
    return new RuntimeError(
      'DOCKER_UNAVAILABLE',
      `the Docker engine at ${where} refused this user (permission denied)`,
      "add the user to the 'docker' group (sudo usermod -aG docker $USER, then log in again), or run meshcraft with --driver local",
      { cause: err },
    );
  }
  return new RuntimeError(
    'DOCKER_UNAVAILABLE',
    `the Docker engine is not running: nothing answers at ${where} (${code ?? (err as Error).message})`,
    'start it (Linux: sudo systemctl start docker, or run dockerd as root; macOS/Windows: start Docker Desktop), or run the lab with --driver local',
    { cause: err },
  );
}

/** Docker's 404 (no such container, network, image). */
export function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}
