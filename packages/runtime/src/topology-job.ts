/** A topology `Lab` as a job for a driver: its layout, its address plans and its rendering. */
import {
  type AddressPlan,
  buildLayout,
  dockerAddressPlan,
  type Lab,
  LabIndex,
  type LabLayout,
  localAddressPlan,
  loopbackBlockFor,
  render,
} from '@meshcraft/topology';
import type { LabJob } from './driver.js';
import type { RenderedView } from './lab.js';
import type { LabPkiStore } from './pki.js';

/** `pki`: where the lab's certificates are kept (they join the rendered files when the lab asks for some). */
export function topologyJob(lab: Lab, pki?: LabPkiStore): LabJob {
  const index = new LabIndex(lab);
  const layout = buildLayout(index);
  const upstreams = upstreamContainers(index, layout);
  return {
    id: lab.metadata.name,
    document: lab,
    layout,
    dockerPlan: (options) => dockerAddressPlan(layout, options),
    localPlan: (options) => localAddressPlan(layout, options),
    loopbackBlockFor,
    // Plans come from the two functions above, so they are topology's own AddressPlan values.
    render: (plan, options) => {
      const result = render(lab, plan as AddressPlan, { xds: options?.xds });
      if (result.pki && pki) result.files = { ...result.files, ...pki.files(lab.metadata.name) };
      return withUpstreamDependencies(result, upstreams);
    },
  };
}

/**
 * For each node with a proxy: every container of the services its clusters have as members. A
 * proxy started before them fails its first health checks and keeps those endpoints out for up
 * to `no_traffic_interval` (60 s), so the runtime starts them first and waits until they are ready.
 */
function upstreamContainers(index: LabIndex, layout: LabLayout): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const proxy of index.proxies) {
    const services = new Set(
      index.clustersOfProxy(proxy).flatMap((c) => index.membersOf(c.id).map((m) => m.to)),
    );
    services.delete(proxy.node.id);
    const containers = layout.namespaces
      .filter((ns) => services.has(ns.node))
      .flatMap((ns) => ns.containers.map((c) => c.name));
    if (containers.length > 0) out.set(proxy.node.id, containers);
  }
  return out;
}

function withUpstreamDependencies<R extends RenderedView>(rendered: R, upstreams: Map<string, string[]>): R {
  return {
    ...rendered,
    containers: rendered.containers.map((c) => {
      const extra = c.role === 'proxy' ? (upstreams.get(c.node) ?? []) : [];
      return extra.length > 0 ? { ...c, dependsOn: [...new Set([...c.dependsOn, ...extra])] } : c;
    }),
  };
}
