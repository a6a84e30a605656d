#!/usr/bin/env node
import { run } from '../dist/cli/main.js';

const code = await run(process.argv.slice(2));
// Exit once the output is flushed: idle keep-alive sockets to proxies or the Docker engine must not hold the command open.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
