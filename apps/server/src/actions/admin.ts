/**
 * Acting on a running lab through the same HTTP interfaces the course used with curl: a demoapp's
 * `POST /livez|/readyz`, a proxy admin's `POST /healthcheck/fail|ok` and
 * `POST /runtime_modify?k=v` (the traffic-split slider), and `GET /runtime` and a demoapp's
 * `GET /livez|/readyz` to read back what they hold now.
 */
import type { LabStatus } from '@meshcraft/runtime';
import { mustRequest } from '../admin-http.js';
import { ConsoleError } from '../errors.js';
import { appEndpoints, type Endpoint, proxyAdmins } from '../lab-targets.js';

export type Probe = 'livez' | 'readyz';
export type ProbeValue = 'OK' | 'FAIL';

export interface ActionResult {
  /** The containers acted on (a node with replicas: each replica). */
  containers: string[];
}

export async function setProbe(
  status: LabStatus,
  target: string,
  probe: Probe,
  value: ProbeValue,
): Promise<ActionResult> {
  const apps = appEndpoints(status, target);
  await Promise.all(
    apps.map((a) =>
      mustRequest(`the app ${a.container}`, a.endpoint, 'POST', `/${probe}`, { body: `${probe}=${value}` }),
    ),
  );
  return { containers: apps.map((a) => a.container) };
}

export async function setProxyHealthcheck(
  status: LabStatus,
  target: string,
  value: 'fail' | 'ok',
): Promise<ActionResult> {
  const proxies = proxyAdmins(status, target);
  await Promise.all(
    proxies.map((p) => mustRequest(`the admin of ${p.container}`, p.admin, 'POST', `/healthcheck/${value}`)),
  );
  return { containers: proxies.map((p) => p.container) };
}

/** Runtime keys and values as Envoy's runtime accepts them through the admin layer. */
const RUNTIME_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,255}$/;
const RUNTIME_VALUE = /^[A-Za-z0-9_.:+-]{0,256}$/;

export async function runtimeModify(
  status: LabStatus,
  target: string,
  values: Record<string, string>,
): Promise<ActionResult> {
  const entries = Object.entries(values);
  if (entries.length === 0)
    throw new ConsoleError('BAD_INPUT', 'no runtime keys given', 'give at least one key=value');
  for (const [k, v] of entries) {
    if (!RUNTIME_KEY.test(k) || !RUNTIME_VALUE.test(v)) {
      throw new ConsoleError(
        'BAD_INPUT',
        `runtime key '${k.slice(0, 80)}' or its value '${v.slice(0, 80)}' has characters runtime keys do not use`,
        'keys are letters, digits, "_", ".", ":" and "-"; values are numbers or plain words',
      );
    }
  }
  const query = new URLSearchParams(entries).toString();
  const proxies = proxyAdmins(status, target);
  await Promise.all(
    proxies.map((p) =>
      mustRequest(`the admin of ${p.container}`, p.admin, 'POST', `/runtime_modify?${query}`),
    ),
  );
  return { containers: proxies.map((p) => p.container) };
}

export interface RuntimeEntries {
  container: string;
  /** Key → its final value, as /runtime reports it. */
  entries: Record<string, string>;
}

export async function readRuntime(status: LabStatus, target: string): Promise<RuntimeEntries[]> {
  const proxies = proxyAdmins(status, target);
  return Promise.all(
    proxies.map(async (p) => {
      const answer = await mustRequest(`the admin of ${p.container}`, p.admin, 'GET', '/runtime');
      const doc = JSON.parse(answer.text) as { entries?: Record<string, { final_value?: string }> };
      const entries: Record<string, string> = {};
      for (const [k, v] of Object.entries(doc.entries ?? {})) entries[k] = v.final_value ?? '';
      return { container: p.container, entries };
    }),
  );
}

export interface ProbeStates {
  container: string;
  /** The replica's namespace (the node id when it has one replica). */
  namespace: string;
  livez: ProbeValue;
  readyz: ProbeValue;
}

/** What each demoapp `target` names answers on GET /livez and /readyz now. */
export async function readProbes(status: LabStatus, target: string): Promise<ProbeStates[]> {
  const read = async (app: { container: string; endpoint: Endpoint }, probe: Probe): Promise<ProbeValue> => {
    // The demoapp's probe answers 200 OK or 506 FAIL; anything else is not its probe answering.
    const answer = await mustRequest(`the app ${app.container}`, app.endpoint, 'GET', `/${probe}`, {
      expected: (s) => s === 200 || s === 506,
    });
    return answer.status === 200 ? 'OK' : 'FAIL';
  };
  return Promise.all(
    appEndpoints(status, target).map(async (app) => {
      const [livez, readyz] = await Promise.all([read(app, 'livez'), read(app, 'readyz')]);
      return { container: app.container, namespace: app.namespace, livez, readyz };
    }),
  );
}
