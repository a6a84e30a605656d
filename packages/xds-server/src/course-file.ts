/**
 * Serving the course's control-plane file to one node id, reloaded whenever the file changes —
 * edited in place (`cat config.yaml.v2 > config.yaml`, no `mv` needed: the server watches the file
 * itself, as the course notes point out) or replaced. Events are settled for a moment before the
 * file is read, and a file that does not parse (half written, or wrong) leaves the last good
 * config in place until the next change. Versions start at a random number below 1000 and count
 * up per reload, like the course's server.
 */

import fs from 'node:fs';
import path from 'node:path';
import type { ControlPlane } from './control-plane.js';
import { type CourseConfigOptions, courseResources } from './course-config.js';

const SETTLE_MS = 50;

export interface CourseFileOptions extends CourseConfigOptions {
  nodeId: string;
  log?: (line: string) => void;
}

/** Serves `file` to `nodeId` now and after each change; throws if the first read fails. */
export function serveCourseFile(
  controlPlane: ControlPlane,
  file: string,
  options: CourseFileOptions,
): { close(): void } {
  const log = options.log ?? (() => {});
  let version = Math.floor(Math.random() * 1000);
  let lastText: string | undefined;
  const load = (initial: boolean) => {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if (initial) throw err;
      log(`cannot read ${file}: ${(err as Error).message}; keeping version ${version}`);
      return;
    }
    if (text === lastText) return;
    try {
      const resources = courseResources(text, options);
      const next = initial ? version : version + 1;
      controlPlane.setSnapshot(options.nodeId, resources, { version: String(next) });
      version = next;
      lastText = text;
      log(`will serve snapshot version ${version} of ${file} to node '${options.nodeId}'`);
    } catch (err) {
      if (initial) throw err;
      log(`${file}: ${(err as Error).message}; keeping version ${version}`);
    }
  };
  load(true);
  let timer: NodeJS.Timeout | undefined;
  const base = path.basename(file);
  const watcher = fs.watch(path.dirname(file), (_event, name) => {
    if (name !== base) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => load(false), SETTLE_MS);
  });
  return {
    close: () => {
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
