import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDIT_BOUND_MS, report, runLiveEdits } from './live-edits.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

describe('live edits on the docker driver', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess(['--driver', 'docker']);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a weight, a route, an endpoint and an LB policy reach the running proxies over xDS; a NACK and an edit needing up are reported', async () => {
    const timings = await runLiveEdits(server, 'docker');
    report('docker', timings);
    for (const t of timings) expect(t.ms, t.edit).toBeLessThan(EDIT_BOUND_MS);
  });
});
