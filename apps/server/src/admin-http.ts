/**
 * HTTP to a lab's proxies' admin interfaces and apps. One keep-alive agent for all of them, so
 * polling 50 proxies a second reuses 50 connections instead of opening 100 new ones.
 */
import http from 'node:http';
import { ConsoleError } from './errors.js';
import type { Endpoint } from './lab-targets.js';

const agent = new http.Agent({ keepAlive: true, maxSockets: 4, keepAliveMsecs: 10_000 });

/** /stats of a busy Envoy is a few hundred KB; anything far beyond is not an admin answering. */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export interface HttpAnswer {
  status: number;
  text: string;
}

export function request(
  to: Endpoint,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: string; contentType?: string; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const req = http.request(
      {
        host: to.host,
        port: to.port,
        method,
        path,
        agent,
        headers: body
          ? {
              'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
              'content-length': body.length,
            }
          : {},
        timeout: options.timeoutMs ?? 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES)
            req.destroy(new Error(`answer larger than ${MAX_RESPONSE_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A request whose failure is the person's to know about: unreachable, or a status `expected` does
 * not take (default: any 2xx), becomes a ConsoleError.
 */
export async function mustRequest(
  what: string,
  to: Endpoint,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: string; expected?: (status: number) => boolean } = {},
): Promise<HttpAnswer> {
  let answer: HttpAnswer;
  try {
    answer = await request(to, method, path, { body: options.body });
  } catch (err) {
    throw new ConsoleError(
      'UNREACHABLE',
      `${what} at ${to.host}:${to.port} did not answer: ${(err as Error).message}`,
      'check that the node is running (meshcraft status), and start it if it is stopped',
      { cause: err },
    );
  }
  if (!(options.expected ?? is2xx)(answer.status)) {
    throw new ConsoleError(
      'UNREACHABLE',
      `${what} at ${to.host}:${to.port} answered ${method} ${path} with ${answer.status}: ${answer.text.trim().slice(0, 300)}`,
      'see the node’s log for why',
    );
  }
  return answer;
}

function is2xx(status: number): boolean {
  return status >= 200 && status <= 299;
}
