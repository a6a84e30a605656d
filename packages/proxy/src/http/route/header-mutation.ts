/**
 * `*_headers_to_add` / `*_headers_to_remove` at route config, virtual host, route and weighted
 * cluster level, compiled once. Values may carry formatter operators
 * (`%DOWNSTREAM_REMOTE_ADDRESS%`), evaluated per request.
 */
import type { HeaderValueOption } from '../../config/types.js';
import { Formatter } from '../formatter.js';
import type { HeaderMap } from '../headers.js';
import type { StreamInfo } from '../stream-info.js';

type AppendAction =
  | 'APPEND_IF_EXISTS_OR_ADD'
  | 'ADD_IF_ABSENT'
  | 'OVERWRITE_IF_EXISTS_OR_ADD'
  | 'OVERWRITE_IF_EXISTS';

interface CompiledHeader {
  name: string;
  value: Formatter;
  action: AppendAction;
  keepEmpty: boolean;
}

export class HeaderMutation {
  private readonly adds: CompiledHeader[];
  private readonly removes: string[];

  constructor(add: HeaderValueOption[] | undefined, remove: string[] | undefined) {
    this.adds = (add ?? []).map((o) => ({
      name: o.header.key.toLowerCase(),
      value: new Formatter(
        o.header.value ??
          (o.header.raw_value ? Buffer.from(o.header.raw_value, 'base64').toString('latin1') : ''),
      ),
      // The deprecated `append: false` means overwrite; `append_action` replaces it.
      action:
        o.append_action ?? (o.append === false ? 'OVERWRITE_IF_EXISTS_OR_ADD' : 'APPEND_IF_EXISTS_OR_ADD'),
      keepEmpty: o.keep_empty_value === true,
    }));
    this.removes = (remove ?? []).map((n) => n.toLowerCase());
  }

  get empty(): boolean {
    return this.adds.length === 0 && this.removes.length === 0;
  }

  apply(headers: HeaderMap, info: StreamInfo): void {
    for (const name of this.removes) headers.remove(name);
    for (const h of this.adds) {
      const value = h.value.formatValue(info);
      if (value === '' && !h.keepEmpty) continue;
      switch (h.action) {
        case 'APPEND_IF_EXISTS_OR_ADD':
          headers.add(h.name, value);
          break;
        case 'ADD_IF_ABSENT':
          headers.setIfAbsent(h.name, value);
          break;
        case 'OVERWRITE_IF_EXISTS_OR_ADD':
          headers.set(h.name, value);
          break;
        case 'OVERWRITE_IF_EXISTS':
          if (headers.has(h.name)) headers.set(h.name, value);
          break;
      }
    }
  }
}

/** Mutations of several levels applied in order (most specific first, unless configured otherwise). */
export function applyAll(mutations: readonly HeaderMutation[], headers: HeaderMap, info: StreamInfo): void {
  for (const m of mutations) if (!m.empty) m.apply(headers, info);
}
