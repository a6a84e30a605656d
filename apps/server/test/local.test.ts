import { afterAll, beforeAll, describe, it } from 'vitest';
import { runScenario } from './scenario.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

describe('meshcraft serve with the local driver', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess(['--driver', 'local']);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs a lab made through the API: live stats, livez=FAIL takes an endpoint out, the split follows runtime_modify', async () => {
    await runScenario(server, 'local');
  });
});
