/**
 * The labels on everything the docker driver creates. `down` and adoption after a restart work
 * from these alone: a running lab's containers say which lab, node and namespace they belong to,
 * which ports the console needs and how to probe readiness.
 */
export const LABELS = {
  lab: 'meshcraft.lab',
  node: 'meshcraft.node',
  role: 'meshcraft.role',
  /** The container's name in the lab (the Docker name carries a lab prefix). */
  container: 'meshcraft.container',
  namespace: 'meshcraft.namespace',
  /** JSON: the container's PublishView list. */
  publish: 'meshcraft.publish',
  /** JSON: names of the containers that must be ready before it starts. */
  dependsOn: 'meshcraft.depends-on',
  /** JSON: the container's readiness probe. */
  readiness: 'meshcraft.readiness',
  /** JSON: messages explaining choices made at `up` (kept on the network). */
  notes: 'meshcraft.notes',
  /** On the runtime image: the content hash of its build context. */
  imageHash: 'meshcraft.image.hash',
} as const;

/** Docker's label filter selecting one lab's resources, or every meshcraft lab's. */
export function labFilter(labId?: string): { label: string[] } {
  return { label: [labId ? `${LABELS.lab}=${labId}` : LABELS.lab] };
}

/** Docker names of a lab's resources. */
export function resourceName(labId: string, name?: string): string {
  return name ? `meshcraft-${labId}-${name}` : `meshcraft-${labId}`;
}
