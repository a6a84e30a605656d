/** Walks a normalized config with its types, so checks can find a message wherever it appears. */

import { envoyApi, type Field, type Message } from './envoy-protos.js';
import { TYPE_URL_PREFIX } from './extensions.js';
import { mapKeyPath } from './proto-json.js';
import { ANY, hasSpecialJson } from './wkt.js';

export interface Visit {
  message: Message;
  value: Record<string, unknown>;
  path: string;
  /** The field that holds this message (undefined at the root). */
  via?: Field;
}

/**
 * Calls `visitor` for every message in a normalized value of type `typeName`, parents before
 * children, looking inside `Any`s by their `@type`.
 */
export function visitMessages(
  typeName: string,
  value: unknown,
  path: string,
  visitor: (visit: Visit) => void,
): void {
  const api = envoyApi();
  const walk = (name: string, node: unknown, at: string, via?: Field): void => {
    if (typeof node !== 'object' || node === null) return;
    let messageName = name;
    if (name === ANY) {
      const url = (node as { '@type'?: string })['@type'];
      if (!url?.startsWith(TYPE_URL_PREFIX)) return;
      messageName = url.slice(TYPE_URL_PREFIX.length);
    }
    const message = api.message(messageName);
    if (!message || hasSpecialJson(messageName)) return;
    const record = node as Record<string, unknown>;
    visitor({ message, value: record, path: at, via });
    for (const field of message.fields) {
      const child = record[field.name];
      if (field.kind !== 'message' || child === undefined) continue;
      const childPath = at ? `${at}.${field.name}` : field.name;
      if (field.map) {
        for (const [key, item] of Object.entries(child as Record<string, unknown>)) {
          walk(field.type, item, mapKeyPath(childPath, key), field);
        }
      } else if (field.repeated) {
        (child as unknown[]).forEach((item, i) => {
          walk(field.type, item, `${childPath}[${i}]`, field);
        });
      } else {
        walk(field.type, child, childPath, field);
      }
    }
  };
  walk(typeName, value, path);
}
