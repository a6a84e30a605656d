/**
 * tRPC setup: the context every procedure gets, and one translation of the console's and the
 * runtime's errors into tRPC errors whose `data.details` carries what a person needs to act
 * (code, hint, the lab's issues with their paths, a failed container's last log lines).
 */
import { RuntimeError, type RuntimeErrorCode } from '@meshcraft/runtime';
import { initTRPC, TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type { ConsoleApp } from '../app.js';
import { ConsoleError, type ConsoleErrorCode, type ErrorDetails, errorDetails } from '../errors.js';

export interface Context {
  app: ConsoleApp;
}

const CONSOLE_CODES: Record<ConsoleErrorCode, TRPC_ERROR_CODE_KEY> = {
  BAD_NAME: 'BAD_REQUEST',
  INVALID_LAB: 'UNPROCESSABLE_CONTENT',
  BAD_INPUT: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  EXISTS: 'CONFLICT',
  CONFLICT: 'CONFLICT',
  LAB_STATE: 'PRECONDITION_FAILED',
  BUSY: 'CONFLICT',
  READ_ONLY: 'FORBIDDEN',
  UNREACHABLE: 'BAD_GATEWAY',
};

const RUNTIME_CODES: Record<RuntimeErrorCode, TRPC_ERROR_CODE_KEY> = {
  DOCKER_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  PORT_IN_USE: 'CONFLICT',
  SUBNET_IN_USE: 'CONFLICT',
  IMAGE_BUILD_FAILED: 'INTERNAL_SERVER_ERROR',
  PROGRAMS_MISSING: 'PRECONDITION_FAILED',
  EXITED: 'INTERNAL_SERVER_ERROR',
  NOT_READY: 'INTERNAL_SERVER_ERROR',
  LAB_RUNNING: 'CONFLICT',
  LAB_NOT_FOUND: 'NOT_FOUND',
  NODE_NOT_FOUND: 'NOT_FOUND',
  UNSUPPORTED: 'BAD_REQUEST',
};

function toTRPCError(err: ConsoleError | RuntimeError): TRPCError {
  if (err instanceof ConsoleError)
    return new TRPCError({ code: CONSOLE_CODES[err.code], message: err.message, cause: err });
  return new TRPCError({ code: RUNTIME_CODES[err.code], message: err.message.split('\n')[0]!, cause: err });
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    const details: ErrorDetails | null =
      cause instanceof ConsoleError || cause instanceof RuntimeError ? errorDetails(cause) : null;
    // Stacks stay in the server's log; the client gets the message and the details.
    const { stack: _stack, ...data } = shape.data;
    return { ...shape, data: { ...data, details } };
  },
});

const translateErrors = t.middleware(async ({ next }) => {
  const result = await next();
  const cause = result.ok ? undefined : result.error.cause;
  if (cause instanceof ConsoleError || cause instanceof RuntimeError) throw toTRPCError(cause);
  return result;
});

export const router = t.router;
export const procedure = t.procedure.use(translateErrors);
