import { Demoapp, optionsFromEnv } from './demoapp.js';

/** Entry point of the `meshcraft-demoapp` bin: configured by env only, like the image it imitates. */
export function main(): void {
  let app: Demoapp;
  try {
    app = new Demoapp(optionsFromEnv());
  } catch (err) {
    process.stderr.write(`meshcraft-demoapp: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const { host, port, udpPort } = app.options;
  app.listen().catch(cannotListen(host, port, 'PORT'));
  app.listenUdp().catch(cannotListen(host, udpPort ?? 0, 'UDP_PORT'));
  const stop = () => {
    app.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** Exits with a message that says what to change when the app cannot bind. */
function cannotListen(host: string, port: number, variable: 'PORT' | 'UDP_PORT') {
  return (err: NodeJS.ErrnoException): never => {
    const why =
      err.code === 'EADDRINUSE'
        ? `port ${port} on ${host} is already in use; stop what holds it or set ${variable} to a free port`
        : err.code === 'EADDRNOTAVAIL'
          ? `address ${host} is not configured on this machine; set HOST to one of its addresses`
          : err.code === 'EACCES'
            ? `no permission to bind ${host}:${port}; use a port above 1023 or run with the capability to bind it`
            : err.message;
    process.stderr.write(`meshcraft-demoapp: cannot listen: ${why}\n`);
    process.exit(1);
  };
}
