/**
 * The node http-proxy contender: the most common way to write a reverse proxy in Node, with a
 * keep-alive agent so it reuses upstream connections like the others.
 *   node http-proxy-server.js <listen-port> <upstream-port>
 */
import http from 'node:http';
import httpProxy from 'http-proxy';

const [listen, upstream] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${upstream}`, agent });
proxy.on('error', (_err, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502);
  res.end();
});
http.createServer((req, res) => proxy.web(req, res)).listen(listen, '127.0.0.1');
