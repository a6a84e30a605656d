import type { ErrorDetails } from '../errors.js';

/** What `meshcraft` exits with; scripts can switch on these. */
export const EXIT = {
  OK: 0,
  /** The operation failed (a container exited, a node did not answer, an internal error). */
  FAILED: 1,
  /** The command line is wrong. */
  USAGE: 2,
  /** The lab has errors (validate, or any command given an invalid lab). */
  INVALID_LAB: 3,
  /** No such lab, node or file. */
  NOT_FOUND: 4,
  /** The docker driver was asked for and no Docker engine answers. */
  DOCKER_UNAVAILABLE: 5,
  /** Something is in the way: the lab is already up (or not up), a port or subnet is taken, a name exists. */
  CONFLICT: 6,
  /** Interrupted (Ctrl-C). */
  INTERRUPTED: 130,
} as const;

export function exitCodeOf(details: ErrorDetails): number {
  switch (details.code) {
    case 'BAD_NAME':
    case 'BAD_INPUT':
      return EXIT.USAGE;
    case 'INVALID_LAB':
      return EXIT.INVALID_LAB;
    case 'NOT_FOUND':
    case 'LAB_NOT_FOUND':
    case 'NODE_NOT_FOUND':
      return EXIT.NOT_FOUND;
    case 'DOCKER_UNAVAILABLE':
      return EXIT.DOCKER_UNAVAILABLE;
    case 'EXISTS':
    case 'CONFLICT':
    case 'LAB_STATE':
    case 'BUSY':
    case 'READ_ONLY':
    case 'LAB_RUNNING':
    case 'PORT_IN_USE':
    case 'SUBNET_IN_USE':
      return EXIT.CONFLICT;
    default:
      return EXIT.FAILED;
  }
}
