/**
 * Whether a running lab can take an edit without restarting anything: the edited lab rendered for
 * the running lab's plan against what runs, container by container and file by file. Containers
 * (image, command, environment, network, mounts — and, on Docker, published ports) are fixed
 * when they are created, and files are written when the lab comes up; what may change is what the
 * console's control plane serves the proxies, which the caller compares itself.
 */
import type { ContainerView, RenderedView } from './lab.js';

/** One reason an edit needs the lab brought up again, in a sentence. */
export interface RestartReason {
  /** The container it concerns, if one. */
  container?: string;
  message: string;
}

export function restartReasons(
  current: RenderedView,
  next: RenderedView,
  { livePublish }: { livePublish: boolean },
): RestartReason[] {
  const out: RestartReason[] = [];
  const before = new Map(current.containers.map((c) => [c.name, c]));
  const after = new Map(next.containers.map((c) => [c.name, c]));
  for (const [name, c] of after) {
    const was = before.get(name);
    if (!was) {
      out.push({
        container: name,
        message: `${name} of '${c.node}' is new; containers are created when the lab comes up`,
      });
      continue;
    }
    for (const message of containerChanges(was, c, livePublish)) out.push({ container: name, message });
  }
  for (const [name, c] of before) {
    if (!after.has(name))
      out.push({
        container: name,
        message: `${name} of '${c.node}' is no longer in the lab; it would keep running`,
      });
  }
  out.push(...fileChanges(current, next));
  return out;
}

function containerChanges(was: ContainerView, now: ContainerView, livePublish: boolean): string[] {
  const name = now.name;
  const out: string[] = [];
  if (was.image !== now.image) out.push(`${name} runs image ${now.image} instead of ${was.image}`);
  if (!same(was.command, now.command))
    out.push(`${name} runs another command (${(now.command ?? []).join(' ')})`);
  const env = changedKeys(was.env, now.env);
  if (env.length) {
    const shown = env.map((k) => `${k}=${now.env[k] ?? '(unset)'}`).join(', ');
    out.push(`${name} gets another environment (${shown}), which a process reads when it starts`);
  }
  if (was.hostname !== now.hostname) out.push(`${name}'s hostname changes to ${now.hostname ?? '(none)'}`);
  if (!same(was.network, now.network))
    out.push(`${name}'s network settings change (address, DNS names or namespace)`);
  if (!same(was.mounts, now.mounts)) out.push(`${name} mounts other files`);
  if (!same(was.hostPorts, now.hostPorts)) out.push(`${name} publishes other fixed host ports`);
  if (!livePublish && !same(was.publish, now.publish)) {
    const key = (p: ContainerView['publish'][number]) => `${p.port}/${p.protocol}`;
    const added = now.publish.filter((p) => !was.publish.some((q) => key(q) === key(p)));
    const what = added.length
      ? `port ${added.map((p) => `${key(p)} (${p.name})`).join(', ')}, which Docker publishes only when it creates the container`
      : 'other ports, which Docker publishes only when it creates the container';
    out.push(`${name} would publish ${what}`);
  }
  return out;
}

function fileChanges(current: RenderedView, next: RenderedView): RestartReason[] {
  const out: RestartReason[] = [];
  const paths = new Set([...Object.keys(current.files), ...Object.keys(next.files)]);
  for (const path of [...paths].sort()) {
    if (current.files[path] === next.files[path]) continue;
    const proxy = next.proxies.find((p) => path.startsWith(`${p.container}/`));
    const container = proxy?.container ?? next.containers.find((c) => path.startsWith(`${c.name}/`))?.name;
    let message: string;
    if (proxy?.xds && proxy.file === path)
      message = `the bootstrap of ${proxy.container} changes (its admin, runtime layers, node or secrets), which a proxy reads only when it starts`;
    else if (proxy?.ownDelivery)
      message = `${proxy.ownDelivery}, and its file ${path} changes; files are written when the lab comes up`;
    else message = `file ${path} changes; files are written when the lab comes up`;
    out.push({ ...(container ? { container } : {}), message });
  }
  return out;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function changedKeys(a: Record<string, string>, b: Record<string, string>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]).sort();
}
