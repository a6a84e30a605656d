/**
 * The `meshcraft-proxy` program: Envoy's command line and exit codes. `--mode validate` prints
 * `configuration '<path>' OK` and exits 0, or prints the error and exits 1; a config or bind
 * error at start exits 1 with a message naming the problem; signals shut down gracefully. With
 * `--concurrency N` (N > 1) the process is the primary of N worker processes (server/primary.ts),
 * and each worker runs this program too (server/worker.ts).
 */

import cluster from 'node:cluster';
import { versionString } from './admin/version.js';
import { LogRegistry } from './common/logger.js';
import { ConfigError, loadBootstrap, unsupportedFeatures } from './config/index.js';
import { logSink, parseArgs, type ServerOptions, USAGE } from './server/options.js';
import { PrimaryServer } from './server/primary.js';
import { Server } from './server/server.js';
import { runWorker } from './server/worker.js';

export async function main(argv: string[]): Promise<void> {
  // A worker process of --concurrency N takes everything from its primary.
  if (cluster.isWorker) return runWorker();
  let options: ServerOptions;
  try {
    const parsed = parseArgs(argv);
    if (parsed.kind === 'help') {
      process.stdout.write(USAGE);
      return;
    }
    if (parsed.kind === 'version') {
      process.stdout.write(`\nmeshcraft-proxy  version: ${versionString()}\n\n`);
      return;
    }
    options = parsed.options;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    process.exitCode = 1;
    return;
  }

  const where = options.configPath ?? 'inline --config-yaml';
  if (options.mode === 'validate') {
    try {
      const { bootstrap, warnings } = loadBootstrap({ path: options.configPath, yaml: options.configYaml });
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      // Validation is Envoy's question ("would Envoy accept this?"); note what we would refuse to run.
      for (const u of unsupportedFeatures(bootstrap)) {
        process.stderr.write(
          `note: ${u.path}: ${u.feature} is not implemented by meshcraft-proxy yet (valid for Envoy)\n`,
        );
      }
      process.stdout.write(`configuration '${where}' OK\n`);
    } catch (err) {
      process.stderr.write(`error initializing configuration '${where}': ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
    return;
  }

  const logs = new LogRegistry(options.logLevel, logSink(options.logPath));
  let server: Server | PrimaryServer;
  try {
    server =
      options.concurrency > 1 && options.mode === 'serve'
        ? await PrimaryServer.start(options, logs)
        : await Server.start(options, logs);
  } catch (err) {
    const message =
      err instanceof ConfigError
        ? `error initializing configuration '${where}': ${err.message}`
        : (err as Error).message;
    logs.get('main', 'cli.ts').critical(message);
    process.stderr.write(`meshcraft-proxy: ${message}\n`);
    process.exitCode = 1;
    return;
  }

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      // A second signal: stop waiting for connections to drain.
      process.exit(0);
    }
    signalled = true;
    logs.get('main', 'cli.ts').warn(`caught ${signal}`);
    void server.shutdown();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await server.stopped;
  process.exit(0);
}
