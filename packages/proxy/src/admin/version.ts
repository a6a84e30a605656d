/**
 * What meshcraft-proxy says it is, where Envoy reports its build: `/server_info`'s version, the
 * node's `user_agent_*` in `/config_dump`, and the `server.version` gauge.
 */
import type { Node } from '../config/types.js';

/** Kept equal to package.json's version (a test checks it), so a bundled proxy still knows it. */
export const PROXY_VERSION = '0.1.0';

/** The Envoy release whose v3 API and admin formats meshcraft-proxy mirrors (the course runs 1.21). */
export const MIRRORED_ENVOY_VERSION = '1.21';

export const USER_AGENT_NAME = 'meshcraft-proxy';

function versionNumbers(): { major_number: number; minor_number: number; patch: number } {
  const [major = 0, minor = 0, patch = 0] = PROXY_VERSION.split('.').map(Number);
  return { major_number: major, minor_number: minor, patch };
}

/**
 * Envoy's `revision/version/status/build-type/ssl` string; the version carries the mirrored Envoy
 * release as semver build metadata, so tools that pick `\d+.\d+.\d+` still find ours.
 */
export function versionString(): string {
  return `${USER_AGENT_NAME}/${PROXY_VERSION}+envoy-${MIRRORED_ENVOY_VERSION}/Clean/RELEASE/OpenSSL-${process.versions.openssl}`;
}

/** The `server.version` gauge: the version as one integer (0.1.0 → 100), Envoy's being a revision number. */
export function versionGaugeValue(): number {
  const v = versionNumbers();
  return v.major_number * 10000 + v.minor_number * 100 + v.patch;
}

/** The node as the server reports it: the configured one plus the build it runs, as Envoy fills it in. */
export function nodeWithBuild(node: Node | undefined): Record<string, unknown> {
  const filled: Record<string, unknown> = { ...node };
  if (filled.user_agent_name === undefined) filled.user_agent_name = USER_AGENT_NAME;
  if (filled.user_agent_version === undefined && filled.user_agent_build_version === undefined) {
    filled.user_agent_build_version = {
      version: versionNumbers(),
      metadata: { 'build.type': 'RELEASE', 'ssl.version': `OpenSSL ${process.versions.openssl}` },
    };
  }
  return filled;
}
