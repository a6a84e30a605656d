/**
 * `/`: the admin home page, a table of every endpoint like Envoy's — a link for the ones that read,
 * a POST form button for the ones that change the server.
 */
import type { UrlHandler } from './handler.js';

const STYLE = `body { font-family: sans-serif; margin: 1em 2em; }
.home-table { border-collapse: collapse; }
.home-data { text-align: left; padding: 2px 12px; }
.home-row:nth-child(odd) { background-color: #f1f1f1; }
.button-as-link { background: none; border: none; color: #00e; cursor: pointer; font: inherit; padding: 0; text-decoration: underline; }`;

export function homePage(handlers: readonly UrlHandler[]): string {
  const rows = handlers
    .filter((h) => h.prefix !== '/')
    .map((h) => {
      const name = h.prefix.slice(1);
      const command = h.mutatesState
        ? `<form action='${h.prefix}' method='post' class='home-form'><button class='button-as-link'>${name}</button></form>`
        : `<a href='${name}'>${name}</a>`;
      return `<tr class='home-row'><td class='home-data'>${command}</td><td class='home-data'>${h.help}</td></tr>`;
    });
  return `<!DOCTYPE html>
<html>
<head>
<meta charset='UTF-8'>
<title>meshcraft-proxy Admin</title>
<style>
${STYLE}
</style>
</head>
<body>
<table class='home-table'>
<thead><tr><th class='home-data'>Command</th><th class='home-data'>Description</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</body>
</html>
`;
}
