import { QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createClients, TRPCProvider } from './api/trpc.js';
import { App } from './shell/App.js';
import { ErrorBoundary } from './shell/ErrorBoundary.js';
import '@xyflow/react/dist/style.css';
import './styles.css';

const { trpcClient, queryClient, wsClient } = createClients();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <ErrorBoundary>
          <App ws={wsClient} />
        </ErrorBoundary>
      </TRPCProvider>
    </QueryClientProvider>
  </StrictMode>,
);
