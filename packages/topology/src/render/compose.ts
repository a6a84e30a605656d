/**
 * The compose project of a rendered lab: the course's layout (one bridge network with the lab's
 * subnet, fixed addresses, aliases, sidecars joining their app's namespace with
 * `network_mode: service:<owner>`), runnable with `docker compose up`. Browser-safe.
 */
import { stringify } from 'yaml';
import type { AddressPlan } from '../plan.js';
import type { Lab } from '../schema.js';
import type { RenderedContainer } from './index.js';

export function renderCompose(lab: Lab, plan: AddressPlan, containers: RenderedContainer[]): string {
  const network = plan.network.name;
  const services: Record<string, unknown> = {};
  for (const c of containers) {
    const svc: Record<string, unknown> = { image: c.image };
    if (c.command) svc.command = c.command;
    if (c.hostname) svc.hostname = c.hostname;
    if (Object.keys(c.env).length) svc.environment = c.env;
    if (c.mounts.length) svc.volumes = c.mounts.map((m) => `./${m.source}:${m.target}`);
    if (c.network.owner) {
      const net: Record<string, unknown> = {};
      if (c.network.ip) net.ipv4_address = c.network.ip;
      if (c.network.aliases.length) net.aliases = c.network.aliases;
      svc.networks = { [network]: Object.keys(net).length ? net : null };
    } else {
      svc.network_mode = `service:${c.network.joins}`;
    }
    if (c.dependsOn.length) svc.depends_on = [...new Set(c.dependsOn)];
    if (c.hostPorts.length)
      svc.ports = c.hostPorts.map((h) => `${h.host}:${h.container}${h.protocol === 'udp' ? '/udp' : ''}`);
    services[c.name] = svc;
  }
  const net: Record<string, unknown> = { driver: 'bridge' };
  if (plan.network.subnet) net.ipam = { config: [{ subnet: plan.network.subnet }] };
  // No top-level `name:`: docker-compose v1 (what Debian ships) rejects it; compose names the
  // project after the directory, which export names after the lab.
  const doc = { services, networks: { [network]: net } };
  const header = `# ${lab.metadata.title}\n# Rendered by meshcraft from lab '${lab.metadata.name}'. Run: docker compose up\n`;
  return header + stringify(doc, { lineWidth: 0, indent: 2, aliasDuplicateObjects: false, nullStr: '' });
}
