/**
 * The console server's API, typed by its router (imported as a type only): queries and mutations
 * over HTTP, subscriptions over one WebSocket, both on the origin that served the page.
 */
import type { AppRouter } from '@meshcraft/server/router';
import { QueryClient } from '@tanstack/react-query';
import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  splitLink,
  TRPCClientError,
  wsLink,
} from '@trpc/client';
import type { inferRouterOutputs } from '@trpc/server';
import { createTRPCContext } from '@trpc/tanstack-react-query';

export type { AppRouter };
export type Outputs = inferRouterOutputs<AppRouter>;
export type LabEntry = Outputs['labs']['list'][number];
export type LabStatus = NonNullable<Outputs['lifecycle']['status']['status']>;

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export function createClients(origin: string = window.location.origin) {
  const wsUrl = `${origin.replace(/^http/, 'ws')}/trpc`;
  const wsClient = createWSClient({
    url: wsUrl,
    retryDelayMs: (attempt) => Math.min(5000, 250 * 2 ** attempt),
  });
  const trpcClient = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: wsClient }),
        false: httpBatchLink({ url: `${origin}/trpc` }),
      }),
    ],
  });
  const queryClient = new QueryClient({
    defaultOptions: { queries: { staleTime: 5_000, refetchOnWindowFocus: false, retry: 1 } },
  });
  return { trpcClient, queryClient, wsClient };
}

/** What the server says about a failure, in the fields a person acts on (see the server's ErrorDetails). */
export interface ErrorInfo {
  code: string;
  message: string;
  hint?: string;
  issues: {
    severity: 'error' | 'warning';
    at: string;
    message: string;
    path: (string | number)[];
    nodeId?: string;
    edgeId?: string;
    line?: number;
    column?: number;
  }[];
  logs: { container: string; lines: string[] }[];
}

type Details = Partial<Omit<ErrorInfo, 'code'>> & { code?: string };

/** The server's ErrorDetails (optional lists) as an ErrorInfo (lists always present). */
export function fromDetails(details: Details, fallback = 'the operation failed'): ErrorInfo {
  return {
    code: details.code ?? 'ERROR',
    message: details.message ?? fallback,
    hint: details.hint,
    issues: details.issues ?? [],
    logs: details.logs ?? [],
  };
}

export function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof TRPCClientError) {
    const details = (err.data as { details?: Details } | undefined)?.details;
    if (details) return fromDetails(details, err.message);
    const unreachable = /fetch|network/i.test(err.message);
    return {
      code: unreachable ? 'UNREACHABLE' : 'ERROR',
      message: unreachable ? 'the console server does not answer' : err.message,
      hint: unreachable
        ? 'check that `meshcraft serve` is still running, then try again; your edits are kept in this tab'
        : undefined,
      issues: [],
      logs: [],
    };
  }
  return { code: 'ERROR', message: err instanceof Error ? err.message : String(err), issues: [], logs: [] };
}
