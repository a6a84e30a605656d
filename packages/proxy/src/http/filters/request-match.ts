/**
 * What the HTTP filters share about looking at a request: Envoy's `HeaderUtility::matchHeaders`
 * (where matchers may name the pseudo-headers `:method`, `:path`, `:authority` and `:scheme`,
 * which HTTP/1 carries in the request line rather than in the header map), the gRPC check, and
 * the draws runtime fractions are decided with.
 */
import { compileHeaderMatcher } from '../../common/matchers.js';
import type { HeaderMatcher } from '../../config/types.js';
import { HeaderMap, type RequestHead } from '../headers.js';

export type RequestPredicate = (request: RequestHead) => boolean;

/** All of `matchers` must match (an empty list matches every request). */
export function compileRequestHeaderMatchers(
  matchers: readonly HeaderMatcher[] | undefined,
): RequestPredicate {
  const list = matchers ?? [];
  if (list.length === 0) return () => true;
  const predicates = list.map(compileHeaderMatcher);
  const needsPseudo = list.some((m) => m.name.startsWith(':'));
  return (request) => {
    const headers = needsPseudo ? withPseudoHeaders(request) : request.headers;
    return predicates.every((p) => p(headers));
  };
}

function withPseudoHeaders(request: RequestHead): HeaderMap {
  const h = HeaderMap.from([
    [':method', request.method],
    [':path', request.path],
    [':authority', request.authority],
    [':scheme', request.scheme],
  ]);
  request.headers.forEach((name, value) => {
    h.add(name, value);
  });
  return h;
}

/** Envoy's `Grpc::Common::isGrpcRequestHeaders`: the content type is `application/grpc` or a subtype. */
export function isGrpcRequest(request: RequestHead): boolean {
  const type = request.headers.get('content-type') ?? '';
  return type === 'application/grpc' || type.startsWith('application/grpc+');
}

/** An integer draw for `Runtime.featureEnabled`, which takes it modulo the denominator (at most a million). */
export function runtimeDraw(random: () => number): number {
  return Math.floor(random() * 0x1_0000_0000);
}
