/**
 * `meshcraft-xds`: the course's control plane (`ikubernetes/envoy-xds-server`) work-alike. It serves
 * the course's YAML file to one node over gRPC (SotW and ADS) and, when asked, REST-JSON:
 *
 *     SERVER_PORT=18000 NODE_ID=envoy_front_proxy RESOURCES_FILE=config.yaml meshcraft-xds
 *
 * Flags as the course's image passes them (`-port`, `-nodeID`, `-watchDirectoryFileName`; `--x`
 * works too) override the environment.
 */

import { ControlPlane } from './control-plane.js';
import { serveCourseFile } from './course-file.js';

export const USAGE = `USAGE: meshcraft-xds [options]

Serves the course's control-plane YAML (name/spec/listeners/clusters) as Envoy resources over xDS
to the proxy whose node.id matches, and reloads it when the file changes.

Options (environment variable in brackets):
  -port <n>                       gRPC port, SotW and ADS [SERVER_PORT] (default 18000)
  -nodeID <id>                    Node id to serve [NODE_ID] (default envoy_front_proxy)
  -watchDirectoryFileName <path>  The YAML file [RESOURCES_FILE]
                                  (default /etc/envoy-xds-server/config/config.yaml)
  --rest-port <n>                 Also serve REST-JSON polling on this port [REST_PORT]
  --host <address>                Listen address [SERVER_HOST] (default 0.0.0.0)
  --config-source <grpc|ads|rest> How generated listeners and clusters fetch routes and endpoints:
                                  own gRPC streams to the management cluster, as the course's
                                  server does (grpc), over ADS (ads), or by REST polling every
                                  0.5 s (rest) [CONFIG_SOURCE]
  --management-cluster <name>     The proxies' static cluster of this server (default xds_cluster)
  -h, --help                      Print this help
`;

class UsageError extends Error {}

interface CliOptions {
  port: number;
  nodeId: string;
  file: string;
  restPort: number | undefined;
  host: string;
  configSource: 'grpc' | 'ads' | 'rest';
  managementCluster: string;
}

function portOf(value: string, what: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new UsageError(`${what} must be a port number, got '${value}'`);
  return n;
}

function configSourceOf(value: string, what: string): CliOptions['configSource'] {
  if (value !== 'grpc' && value !== 'ads' && value !== 'rest') {
    throw new UsageError(`${what} is grpc, ads or rest, got '${value}'`);
  }
  return value;
}

export function parseCli(argv: string[], env: NodeJS.ProcessEnv): CliOptions | 'help' {
  const o: CliOptions = {
    port: portOf(env.SERVER_PORT ?? '18000', 'SERVER_PORT'),
    nodeId: env.NODE_ID ?? 'envoy_front_proxy',
    file: env.RESOURCES_FILE ?? '/etc/envoy-xds-server/config/config.yaml',
    restPort: env.REST_PORT ? portOf(env.REST_PORT, 'REST_PORT') : undefined,
    host: env.SERVER_HOST ?? '0.0.0.0',
    configSource: configSourceOf(env.CONFIG_SOURCE ?? 'grpc', 'CONFIG_SOURCE'),
    managementCluster: 'xds_cluster',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!.replace(/^--?/, '');
    if (flag === 'h' || flag === 'help') return 'help';
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`${argv[i - 1]} needs a value`);
    switch (flag) {
      case 'port':
        o.port = portOf(value, '-port');
        break;
      case 'nodeID':
      case 'node-id':
        o.nodeId = value;
        break;
      case 'watchDirectoryFileName':
      case 'resources-file':
        o.file = value;
        break;
      case 'rest-port':
        o.restPort = portOf(value, '--rest-port');
        break;
      case 'host':
        o.host = value;
        break;
      case 'config-source':
        o.configSource = configSourceOf(value, '--config-source');
        break;
      case 'management-cluster':
        o.managementCluster = value;
        break;
      default:
        throw new UsageError(`unknown option ${argv[i - 1]}`);
    }
  }
  return o;
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

export async function main(argv: string[]): Promise<void> {
  let options: CliOptions;
  try {
    const parsed = parseCli(argv, process.env);
    if (parsed === 'help') {
      process.stdout.write(USAGE);
      return;
    }
    options = parsed;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${USAGE}`);
    process.exitCode = 1;
    return;
  }
  let controlPlane: ControlPlane;
  try {
    controlPlane = await ControlPlane.start({
      host: options.host,
      grpcPort: options.port,
      restPort: options.restPort,
    });
  } catch (err) {
    process.stderr.write(`cannot listen on ${options.host}:${options.port}: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  let file: { close(): void };
  try {
    file = serveCourseFile(controlPlane, options.file, {
      nodeId: options.nodeId,
      configSource: options.configSource,
      managementCluster: options.managementCluster,
      log,
    });
  } catch (err) {
    process.stderr.write(`cannot serve ${options.file}: ${(err as Error).message}\n`);
    await controlPlane.close();
    process.exitCode = 1;
    return;
  }
  const short = (typeUrl: string) => typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
  controlPlane.on('push', (e) =>
    log(
      `sent ${short(e.typeUrl)} version ${e.version} [${e.names.join(', ')}] to node '${e.nodeId}' (${short(e.stream)} stream)`,
    ),
  );
  controlPlane.on('ack', (e) => log(`node '${e.nodeId}' accepted ${short(e.typeUrl)} version ${e.version}`));
  controlPlane.on('nack', (e) =>
    log(`node '${e.nodeId}' rejected ${short(e.typeUrl)} version ${e.version}: ${e.message}`),
  );
  controlPlane.on('connect', (e) => log(`node '${e.nodeId}' connected (${e.stream} stream)`));
  log(`management server listening on ${controlPlane.grpcPort}`);
  if (controlPlane.restPort !== undefined) log(`REST-JSON discovery listening on ${controlPlane.restPort}`);
  const stop = () => {
    file.close();
    void controlPlane.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
