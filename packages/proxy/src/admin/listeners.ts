/**
 * `/listeners`: `name::address` per bound address (source/server/admin/listeners_handler.cc), or
 * `envoy.admin.v3.Listeners` with `?format=json`.
 */
import type { Address } from '../config/types.js';
import type { ListenerStatus } from './context.js';
import { addressString } from './handler.js';

export function listenersText(listeners: ListenerStatus[]): string {
  let out = '';
  for (const l of listeners) {
    for (const address of [l.localAddress, ...l.additionalLocalAddresses]) {
      out += `${l.name}::${addressString(address)}\n`;
    }
  }
  return out;
}

/** An Address as protobuf JSON prints it: port 0 and default enums omitted. */
function addressJson(address: Address): Address {
  if (address.pipe) return { pipe: { path: address.pipe.path } };
  const socket = address.socket_address;
  if (!socket) return {};
  return {
    socket_address: socket.port_value
      ? { address: socket.address, port_value: socket.port_value }
      : { address: socket.address },
  };
}

export function listenersJson(listeners: ListenerStatus[]): Record<string, unknown> {
  if (listeners.length === 0) return {};
  return {
    listener_statuses: listeners.map((l) => ({
      name: l.name,
      local_address: addressJson(l.localAddress),
      ...(l.additionalLocalAddresses.length > 0
        ? { additional_local_addresses: l.additionalLocalAddresses.map(addressJson) }
        : {}),
    })),
  };
}
