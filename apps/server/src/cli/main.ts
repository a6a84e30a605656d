/**
 * `meshcraft`: the console server and the lab commands. Lab commands run in this process against
 * the same workspace and runtime the server uses, so a lab brought up here shows in the console
 * and the other way round. Human output by default (progress on stderr), `--json` for scripts
 * (the result on stdout); the exit code says what went wrong (see EXIT).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { DriverChoice, ProgressEvent } from '@meshcraft/runtime';
import {
  buildLayout,
  dockerAddressPlan,
  type ImageFlavour,
  type Lab,
  LabIndex,
  parseLab,
  render,
} from '@meshcraft/topology';
import { exportToDirectory, exportZip, readProjectDirectory } from '@meshcraft/topology/node';
import { ConsoleApp } from '../app.js';
import { DEFAULT_HOST, DEFAULT_PORT, defaultWorkspaceDir } from '../defaults.js';
import { ConsoleError, describeError, errorDetails } from '../errors.js';
import { startServer } from '../http/server.js';
import { VERSION } from '../version.js';
import { type ImportSource, LAB_FILE_SUFFIX, toLabName } from '../workspace/index.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import { json, progressLine, statusTable, table } from './output.js';

const USAGE = `meshcraft ${VERSION} — a lab console for Envoy-style service meshes

Usage:
  meshcraft serve [--port ${DEFAULT_PORT}] [--host ${DEFAULT_HOST}] [--workspace DIR] [--token SECRET]
                  [--driver auto|docker|local] [--web-dir DIR] [--allow-host NAME]... [--allow-origin URL]...
  meshcraft up <lab> [--driver auto|docker|local]   bring a lab up (a name in the workspace or library, or a file)
  meshcraft down <lab>                              remove everything of a running lab
  meshcraft ls [--saved]                            labs that are up (--saved: the workspace's and library's labs)
  meshcraft status [<lab>]                          containers, states and ports of one lab (or all that are up)
  meshcraft render <lab> -o <dir> [--images meshcraft|upstream]   the Envoy configs and compose file
  meshcraft import <dir|file.zip|file.lab.yaml> [--name NAME] [--force]   into the workspace
  meshcraft export <lab> -o <file.zip|dir> [--images meshcraft|upstream]  a project for docker compose
  meshcraft validate <lab>                          check a lab and list its issues

Options for every command: --workspace DIR (default ~/.meshcraft/workspace), --json (results as JSON).
Exit codes: 0 ok, 1 failed, 2 usage, 3 invalid lab, 4 not found, 5 Docker unavailable, 6 conflict, 130 interrupted.
`;

const OPTIONS = {
  json: { type: 'boolean' },
  workspace: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  token: { type: 'string' },
  driver: { type: 'string' },
  'web-dir': { type: 'string' },
  'allow-host': { type: 'string', multiple: true },
  'allow-origin': { type: 'string', multiple: true },
  output: { type: 'string', short: 'o' },
  images: { type: 'string' },
  name: { type: 'string' },
  force: { type: 'boolean' },
  saved: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends Error {}

interface Io {
  out(text: string): void;
  err(text: string): void;
}

const stdio: Io = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

/** Runs the command line; resolves with the exit code (serve resolves only when it stops). */
export async function run(argv: string[], io: Io = stdio): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    io.err(`meshcraft: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT.USAGE;
  }
  const [command, ...rest] = positionals;
  if (values.version) {
    io.out(VERSION);
    return EXIT.OK;
  }
  if (values.help || !command || command === 'help') {
    io.out(USAGE);
    return command || values.help ? EXIT.OK : EXIT.USAGE;
  }
  const commands: Record<string, (v: Values, args: string[], io: Io) => Promise<number>> = {
    serve,
    up,
    down,
    ls,
    status,
    render: renderCommand,
    import: importCommand,
    export: exportCommand,
    validate,
  };
  const fn = commands[command];
  if (!fn) {
    io.err(`meshcraft: unknown command '${command}'\n\n${USAGE}`);
    return EXIT.USAGE;
  }
  try {
    return await fn(values, rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`meshcraft ${command}: ${err.message}\n(see meshcraft --help)`);
      return EXIT.USAGE;
    }
    const details = errorDetails(err);
    if (values.json) io.out(json({ ok: false, error: details }));
    else io.err(`meshcraft ${command}: ${describeError(details)}`);
    return exitCodeOf(details);
  }
}

function appFor(values: Values): ConsoleApp {
  return new ConsoleApp({
    workspaceDir: values.workspace ?? defaultWorkspaceDir(),
    driver: driverOf(values),
  });
}

function driverOf(values: Values): DriverChoice {
  const d = values.driver ?? 'auto';
  if (d !== 'auto' && d !== 'docker' && d !== 'local')
    throw new UsageError(`--driver is auto, docker or local, not '${d}'`);
  return d;
}

function imagesOf(values: Values): ImageFlavour {
  const i = values.images ?? 'meshcraft';
  if (i !== 'meshcraft' && i !== 'upstream')
    throw new UsageError(`--images is meshcraft or upstream, not '${i}'`);
  return i;
}

function one(args: string[], what: string): string {
  if (args.length !== 1)
    throw new UsageError(args.length === 0 ? `name the ${what}` : `one ${what} only, got: ${args.join(' ')}`);
  return args[0]!;
}

function looksLikeFile(arg: string): boolean {
  return arg.includes('/') || /\.(ya?ml|json)$/.test(arg);
}

/** A lab named on the command line: a file path, or a lab name in the workspace or library. */
async function labArg(app: ConsoleApp, arg: string): Promise<Lab> {
  if (looksLikeFile(arg)) {
    if (!existsSync(arg)) throw new ConsoleError('NOT_FOUND', `there is no file ${arg}`, 'check the path');
    const { lab, issues } = parseLab(readFileSync(arg, 'utf8'));
    if (!lab)
      throw new ConsoleError('INVALID_LAB', `${arg} is not a valid lab`, `fix it and try again`, { issues });
    return lab;
  }
  return app.workspace.lab({ name: arg });
}

function reporter(values: Values, io: Io): (e: ProgressEvent) => void {
  return values.json ? (e) => io.err(JSON.stringify(e)) : (e) => io.err(progressLine(e));
}

async function serve(values: Values, args: string[], io: Io): Promise<number> {
  if (args.length > 0) throw new UsageError(`serve takes no arguments, got: ${args.join(' ')}`);
  const port = Number(values.port ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number, not '${values.port}'`);
  const server = await startServer({
    host: values.host ?? DEFAULT_HOST,
    port,
    token: values.token,
    workspaceDir: values.workspace ?? defaultWorkspaceDir(),
    driver: driverOf(values),
    webDir: values['web-dir'],
    allowHosts: values['allow-host'],
    allowOrigins: values['allow-origin'],
  });
  const driver = await describeDriver(server.app);
  const address = values.token ? `${server.url}?token=${encodeURIComponent(values.token)}` : server.url;
  if (values.json) {
    io.out(
      JSON.stringify({
        url: server.url,
        host: server.host,
        port: server.port,
        workspace: server.app.workspace.dir,
        driver,
      }),
    );
  } else {
    io.out(`meshcraft console on ${address}`);
    io.out(`  workspace ${server.app.workspace.dir}`);
    io.out(
      `  driver ${driver.choice}${driver.choice === 'auto' ? ` → ${driver.picks}` : ''} (${driver.why})`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (!values.json)
        io.err(
          'meshcraft: stopping the console; labs that are up stay up (meshcraft down <lab> removes one)',
        );
      void server.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return EXIT.OK;
}

/** Which driver `up` would use now, and why: people should know whether Docker is in play. */
async function describeDriver(
  app: ConsoleApp,
): Promise<{ choice: DriverChoice; picks: 'docker' | 'local'; why: string }> {
  let why = '';
  try {
    const picked = await app.runtime.pick(app.defaultDriver, (e) => {
      why = e.message;
    });
    return {
      choice: app.defaultDriver,
      picks: picked.kind,
      why: why.replace(/^using the \w+ driver:? ?/, '') || 'as asked',
    };
  } catch (err) {
    // --driver docker with no engine: the console still serves labs' design; `up` will say the same.
    return { choice: app.defaultDriver, picks: 'docker', why: `but ${errorDetails(err).message}` };
  }
}

async function up(values: Values, args: string[], io: Io): Promise<number> {
  const app = appFor(values);
  const lab = await labArg(app, one(args, 'lab'));
  const onInterrupt = () => {
    io.err(`\nmeshcraft up: interrupted; what started may still run: meshcraft down ${lab.metadata.name}`);
    process.exit(EXIT.INTERRUPTED);
  };
  process.once('SIGINT', onInterrupt);
  try {
    const progress = reporter(values, io);
    const unsubscribe = new AbortController();
    const watching = (async () => {
      for await (const e of app.operations.watch(lab.metadata.name, unsubscribe.signal)) {
        if (e.type === 'progress') progress(e.event);
      }
    })();
    const result = await app.up(lab).finally(() => unsubscribe.abort());
    await watching;
    if (values.json) io.out(json({ ok: true, status: result }));
    else io.out(statusTable(result));
    return EXIT.OK;
  } finally {
    process.off('SIGINT', onInterrupt);
    await app.close();
  }
}

async function down(values: Values, args: string[], io: Io): Promise<number> {
  const app = appFor(values);
  const labId = one(args, 'lab');
  try {
    const result = await app.runtime.down(labId, { onProgress: reporter(values, io) });
    if (values.json) io.out(json({ ok: true, ...result }));
    else {
      const r = result.removed;
      io.out(
        `lab ${labId} is down: removed ${r.containers} containers, ${r.networks} networks, ${r.volumes} volumes`,
      );
    }
    return EXIT.OK;
  } finally {
    await app.close();
  }
}

async function ls(values: Values, args: string[], io: Io): Promise<number> {
  if (args.length > 0) throw new UsageError(`ls takes no arguments, got: ${args.join(' ')}`);
  const app = appFor(values);
  try {
    if (values.saved) {
      const labs = await app.workspace.list();
      if (values.json) io.out(json(labs));
      else {
        io.out(
          table(
            ['NAME', 'SOURCE', 'VALID', 'TITLE'],
            labs.map((l) => [l.name, l.source, l.valid ? 'yes' : `${l.errors} errors`, l.title]),
          ),
        );
      }
      return EXIT.OK;
    }
    const labs = await app.runtime.list();
    if (values.json) io.out(json(labs));
    else if (labs.length === 0) io.out('no lab is up (meshcraft ls --saved lists the labs there are)');
    else
      io.out(
        table(
          ['LAB', 'DRIVER', 'STATE', 'CONTAINERS'],
          labs.map((l) => [l.labId, l.driver, l.state, String(l.containers)]),
        ),
      );
    return EXIT.OK;
  } finally {
    await app.close();
  }
}

async function status(values: Values, args: string[], io: Io): Promise<number> {
  const app = appFor(values);
  try {
    const ids = args.length > 0 ? [one(args, 'lab')] : (await app.runtime.list()).map((l) => l.labId);
    const statuses = [];
    for (const id of ids) {
      const s = await app.runtime.status(id);
      if (!s)
        throw new ConsoleError('NOT_FOUND', `lab '${id}' is not up`, `bring it up with: meshcraft up ${id}`);
      statuses.push(s);
    }
    if (values.json) io.out(json(args.length > 0 ? statuses[0] : statuses));
    else io.out(statuses.length ? statuses.map(statusTable).join('\n\n') : 'no lab is up');
    return EXIT.OK;
  } finally {
    await app.close();
  }
}

/** Refuses to write into a directory that has files, so nothing there is overwritten by surprise. */
function emptyOutputDir(dir: string, force: boolean | undefined): string {
  const resolved = path.resolve(dir);
  if (existsSync(resolved)) {
    if (!statSync(resolved).isDirectory()) throw new UsageError(`${dir} exists and is not a directory`);
    if (!force && readdirSync(resolved).length > 0) {
      throw new ConsoleError(
        'EXISTS',
        `${dir} is not empty`,
        'name a new or empty directory, or pass --force to write over its files',
      );
    }
  }
  mkdirSync(resolved, { recursive: true });
  return resolved;
}

async function renderCommand(values: Values, args: string[], io: Io): Promise<number> {
  if (!values.output) throw new UsageError('name the output directory: -o <dir>');
  const app = appFor(values);
  try {
    const lab = await labArg(app, one(args, 'lab'));
    const rendered = render(lab, dockerAddressPlan(buildLayout(new LabIndex(lab))), {
      images: imagesOf(values),
    });
    const files: Record<string, string> = {
      ...rendered.files,
      'docker-compose.yaml': rendered.compose ?? '',
    };
    const dir = emptyOutputDir(values.output, values.force);
    for (const [rel, content] of Object.entries(files)) {
      const file = path.resolve(dir, rel);
      if (!file.startsWith(dir + path.sep))
        throw new ConsoleError('BAD_INPUT', `refusing to write ${rel} outside ${dir}`, 'report this lab');
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
    }
    if (values.json)
      io.out(json({ ok: true, dir, files: Object.keys(files).sort(), warnings: rendered.warnings }));
    else {
      io.out(`rendered ${lab.metadata.name} into ${dir}:`);
      for (const f of Object.keys(files).sort()) io.out(`  ${f}`);
      for (const w of rendered.warnings) io.err(`warning: ${w.at}: ${w.message}`);
    }
    return EXIT.OK;
  } finally {
    await app.close();
  }
}

async function importCommand(values: Values, args: string[], io: Io): Promise<number> {
  const from = one(args, 'directory or file to import');
  if (!existsSync(from)) throw new ConsoleError('NOT_FOUND', `there is no ${from}`, 'check the path');
  let source: ImportSource;
  if (statSync(from).isDirectory()) source = { kind: 'files', files: readProjectDirectory(from) };
  else if (from.endsWith('.zip')) source = { kind: 'zip', base64: readFileSync(from).toString('base64') };
  else source = { kind: 'yaml', text: readFileSync(from, 'utf8') };
  const app = appFor(values);
  try {
    const name =
      values.name ?? (source.kind === 'files' ? toLabName(path.basename(path.resolve(from))) : undefined);
    const result = await app.workspace.import(source, { name, overwrite: values.force ?? false });
    if (values.json) io.out(json({ ok: true, ...result }));
    else {
      io.out(`imported ${from} as lab '${result.name}' into ${app.workspace.dir}`);
      for (const w of result.issues) io.err(`warning: ${w.at}: ${w.message}`);
    }
    return EXIT.OK;
  } finally {
    await app.close();
  }
}

async function exportCommand(values: Values, args: string[], io: Io): Promise<number> {
  if (!values.output) throw new UsageError('name the output: -o <file.zip> or -o <dir>');
  const app = appFor(values);
  try {
    const lab = await labArg(app, one(args, 'lab'));
    const images = imagesOf(values);
    if (values.output.endsWith('.zip')) {
      if (existsSync(values.output) && !values.force) {
        throw new ConsoleError(
          'EXISTS',
          `${values.output} exists`,
          'name a new file, or pass --force to replace it',
        );
      }
      const { zip, warnings } = exportZip(lab, { images });
      writeFileSync(values.output, zip);
      if (values.json)
        io.out(json({ ok: true, file: path.resolve(values.output), bytes: zip.length, warnings }));
      else io.out(`exported ${lab.metadata.name} to ${values.output} (${zip.length} bytes)`);
    } else {
      const dir = emptyOutputDir(values.output, values.force);
      const { files, warnings } = exportToDirectory(lab, dir, { images });
      if (values.json) io.out(json({ ok: true, dir, files, warnings }));
      else
        io.out(
          `exported ${lab.metadata.name} to ${dir} (${files.length} files); run it with: cd ${dir} && docker compose up`,
        );
    }
    return EXIT.OK;
  } finally {
    await app.close();
  }
}

async function validate(values: Values, args: string[], io: Io): Promise<number> {
  const arg = one(args, 'lab');
  const app = appFor(values);
  try {
    const doc = looksLikeFile(arg)
      ? (() => {
          if (!existsSync(arg))
            throw new ConsoleError('NOT_FOUND', `there is no file ${arg}`, 'check the path');
          const r = parseLab(readFileSync(arg, 'utf8'));
          return { name: arg, valid: r.lab !== undefined, issues: r.issues };
        })()
      : await app.workspace.get({ name: arg }).then((d) => ({
          name: `${d.name}${LAB_FILE_SUFFIX} (${d.source})`,
          valid: d.lab !== null,
          issues: d.issues,
        }));
    if (values.json) io.out(json(doc));
    else {
      for (const i of doc.issues) {
        const where = i.line !== undefined ? `line ${i.line}, column ${i.column}: ` : '';
        io.out(`${i.severity}: ${where}${i.at}: ${i.message}`);
      }
      io.out(doc.valid ? `${doc.name} is valid` : `${doc.name} has errors`);
    }
    return doc.valid ? EXIT.OK : EXIT.INVALID_LAB;
  } finally {
    await app.close();
  }
}
