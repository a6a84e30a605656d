/**
 * Lab names become file names in the workspace, so every name from outside (the API, the command
 * line, an imported file) goes through here before it touches a path.
 */
import path from 'node:path';
import { LAB_NAME_PATTERN, LAB_NAME_RULE } from '@meshcraft/topology';
import { ConsoleError } from '../errors.js';

export const LAB_FILE_SUFFIX = '.lab.yaml';

export function checkLabName(name: string): string {
  if (!LAB_NAME_PATTERN.test(name)) {
    const shown = name.length > 80 ? `${name.slice(0, 80)}…` : name;
    throw new ConsoleError(
      'BAD_NAME',
      `'${shown}' is not an allowed lab name`,
      `a lab name is ${LAB_NAME_RULE}`,
    );
  }
  return name;
}

/** `<dir>/<name>.lab.yaml`, refusing any name that would resolve outside `dir`. */
export function labFile(dir: string, name: string): string {
  const root = path.resolve(dir);
  const file = path.resolve(root, `${checkLabName(name)}${LAB_FILE_SUFFIX}`);
  if (path.dirname(file) !== root) {
    throw new ConsoleError('BAD_NAME', `'${name}' would leave the workspace`, 'use a plain lab name');
  }
  return file;
}

/** A valid lab name made from any text (an imported directory's name, a file name). */
export function toLabName(text: string): string {
  const base = text
    .toLowerCase()
    .replace(/\.lab\.ya?ml$|\.ya?ml$|\.zip$/, '')
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63)
    .replace(/[-.]+$/, '');
  return base || 'imported-lab';
}
