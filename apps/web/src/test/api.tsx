/**
 * Components under test talk to a stand-in of the console server: a tRPC link that answers each
 * procedure from the given handlers (by path, e.g. `actions.probes`) and records every call.
 */
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createTRPCClient, type TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import type { ReactNode } from 'react';
import { type AppRouter, TRPCProvider } from '../api/trpc.js';

export type Handlers = Record<string, (input: unknown) => unknown>;

export interface FakeApi {
  calls: { path: string; input: unknown }[];
  wrapper: (props: { children: ReactNode }) => ReactNode;
}

export function fakeApi(handlers: Handlers): FakeApi {
  const calls: FakeApi['calls'] = [];
  const link: TRPCLink<AppRouter> =
    () =>
    ({ op }) =>
      observable((observer) => {
        calls.push({ path: op.path, input: op.input });
        const handler = handlers[op.path];
        Promise.resolve()
          .then(() => {
            if (!handler) throw new Error(`no handler for ${op.path}`);
            return handler(op.input);
          })
          .then(
            (data) => {
              observer.next({ result: { type: 'data', data } });
              observer.complete();
            },
            (err: Error) => observer.error(err as never),
          );
      });
  const trpcClient = createTRPCClient<AppRouter>({ links: [link] });
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return {
    calls,
    wrapper: ({ children }) => (
      <QueryClientProvider client={queryClient}>
        <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
          {children}
        </TRPCProvider>
      </QueryClientProvider>
    ),
  };
}
