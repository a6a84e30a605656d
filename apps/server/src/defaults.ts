import os from 'node:os';
import path from 'node:path';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7300;

/** `~/.meshcraft/workspace`, or under $MESHCRAFT_HOME when set. */
export function defaultWorkspaceDir(): string {
  const home = process.env.MESHCRAFT_HOME || path.join(os.homedir(), '.meshcraft');
  return path.join(home, 'workspace');
}
