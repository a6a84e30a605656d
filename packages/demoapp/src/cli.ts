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
  app.listen().catch((err: NodeJS.ErrnoException) => {
    const { host, port } = app.options;
    const why =
      err.code === 'EADDRINUSE'
        ? `port ${port} on ${host} is already in use; stop what holds it or set PORT to a free port`
        : err.code === 'EADDRNOTAVAIL'
          ? `address ${host} is not configured on this machine; set HOST to one of its addresses`
          : err.code === 'EACCES'
            ? `no permission to bind ${host}:${port}; use a port above 1023 or run with the capability to bind it`
            : err.message;
    process.stderr.write(`meshcraft-demoapp: cannot listen: ${why}\n`);
    process.exit(1);
  });
  const stop = () => {
    app.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
