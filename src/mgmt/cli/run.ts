/**
 * `vaigai --port <spec> --src-ip A-B ...` (the default command): the options
 * become a plan (stack_config.ts), every file the run will read or write is
 * checked, and the run layer runs the plan on its workers, one by default
 * (src/run/session.ts): the network layer answers ARP and ping for every owned
 * address and, with a mode, the user-space TCP carries an HTTP/1.1 server
 * (`--server`, HTTPS with `--tls`), a TCP sink or source, or an HTTP client
 * load (`--client URL`). A live line each second, a summary at the end.
 */
import { accessSync, closeSync, constants, existsSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { EXIT_THRESHOLDS, FileAccessError, InvalidOptionError } from '../../common/errors.js';
import { DRIVERS, PORT_OPTIONS } from '../../port/spec.js';
import { ECN_MODES } from '../../net/tcp/ecn.js';
import type { RunPlan } from '../../run/plan.js';
import { MAX_WORKERS, runSession, workerPcapPath, type WorkersRunResult } from '../../run/session.js';
import { fmtThresholdValue } from '../../run/threshold_text.js';
import { renderReport } from '../report/render.js';
import { ealOperands, parseRunOptions, type RawRunOptions } from './stack_config.js';
import { hdrLogOption, outOption } from './output_config.js';
import { clientExitCode } from '../../engine/report.js';
import { DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_RESPONSE_TIMEOUT_S, DEFAULT_TLS_TIMEOUT_S } from './stack_config.js';
import { attachConsole } from '../console/attach.js';
import { consoleCommands } from '../console/commands.js';
import { completer } from '../console/completion.js';
import { defaultSocketPath } from '../console/socket_path.js';
import { startFlags } from '../console/start_flags.js';
import { runGenerator, type RestFlags } from '../generator.js';
import { addConsoleOptions, historyOf, type ConsoleFlags } from './console_options.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** The drivers and their spec options, for --help. */
export function driversHelp(): string {
  return ['Port drivers (--port DRIVER[:key=value,...]):', ...DRIVERS.map((d) => `  ${d.padEnd(10)} ${PORT_OPTIONS[d].join(', ') || '(no options)'}`)].join('\n');
}

export function registerRun(program: Command): Command {
  const run = program
    .command('run', { isDefault: true })
    .description('run the stack on a port: ARP and ping for the owned addresses, and a server or client load on its TCP')
    .option('--port <spec>', 'port to use: DRIVER[:key=value,...], e.g. af_packet:iface=eth1 (drivers below)')
    .option('--src-ip <range>', 'owned addresses: A, A-B, A/len or A-B/len (subnet /24 by default), @N for VLAN N; repeatable', collect, [])
    .option('--gateway <ip>', 'default route via this gateway')
    .option('--route <spec>', '"prefix/len via gateway" (repeatable)', collect, [])
    .option('--vlan <id>', '802.1Q VLAN of the owned addresses given without @N')
    .option('--mac <mac>', "our MAC address (default: the port's)")
    .option('--duration <seconds>', 'stop after this long (default: on SIGINT/SIGTERM)')
    .option('--drain <seconds>', 'once the run stops, how long open requests may take to finish before every connection is closed', '2')
    .option('--json <file>', 'write the run\'s result as JSON to this file at the end (also on SIGINT or failure): counters, phases with HdrHistogram encodings, flows, the per-second series')
    .addOption(new Option('--report <file>', 'write an HTML report of the run to this file at the end (one self-contained page; `vaigai report` renders one from a --json file)'))
    .addOption(new Option('--threshold <expr>', "client loads: a pass criterion, e.g. 'http.p99<5ms', 'errors<0.1%', 'rps>9000' (repeatable; README, Thresholds); a failed one exits 4").argParser(collect))
    .addOption(new Option('--abort-on-fail', 'client loads: stop the run (drain, close) once a threshold has failed for good (a count or a maximum past its limit)'))
    .option('--tcp-window <bytes>', 'fixes the receive window and send buffer of every TCP connection, e.g. 4m (default: 256k send buffer, receive window autotuned from 256k to 4m)')
    .option('--max-conns <n>', 'TCP connections (TCBs) held at once per worker, TIME_WAIT included', '65536')
    .option('--cc <algorithm>', 'TCP congestion control: cubic (the default, as Linux) or newreno')
    .addOption(new Option('--ecn <mode>', 'ECN (RFC 3168): passive agrees when the peer asks (the default, as Linux), on asks too, off never').choices(ECN_MODES))
    .option('--server', 'HTTP/1.1 server on the owned addresses (/bytes/<n> answers n bytes)')
    .option('--listen <proto:port[:handler]>', 'a listener (repeatable): http:80, https:443 (--cert/--key), tcp:PORT:discard|echo|chargen, udp:PORT:echo|discard', collect, [])
    .option('--listen-port <port>', 'port of --server (80, 443 with --tls), --tcp-sink (9), --tcp-source (19)')
    .option('--http-status <code>', 'status of every --server answer', '200')
    .option('--body-size <bytes>', 'body size of --server answers to other targets than /bytes/<n>', '0')
    .option('--header-timeout <seconds>', '--server: a request head must arrive whole within this (default 30, 0: no limit)')
    .option('--idle-timeout <seconds>', '--server: close a connection with no request in progress after this (default 60, 0: no limit)')
    .option('--count-targets', '--server: count requests by request-target (summary and --json app.targets)')
    .option('--tcp-sink', "TCP server that discards what it receives (with --sha256: prints each connection's digest)")
    .option('--tcp-source <bytes>', 'TCP server that sends this many bytes on each connection, then closes')
    .addOption(new Option('--config <file>', 'the traffic profile (JSON; `vaigai schema` prints its schema) instead of the client flags').env('VAIGAI_CONFIG'))
    .option('--seed <n>', 'repeat a run: the same seed, the same flows, URLs, source addresses and ports, arrivals and payloads (overrides the profile\'s seed)')
    .option('--save-config <file>', 'write the traffic profile of this run (from the flags or --config, defaults filled in) to this file')
    .option('--client <url>', 'client load: http[s]://IPv4[:port]/path, tcp://IPv4:port (connect rate), udp://IPv4:port or icmp://IPv4 (datagrams at --rate)')
    .addOption(new Option('--close <how>', 'tcp:// client: close each connection with a FIN or a RST').choices(['fin', 'rst']))
    .option('--payload-size <bytes>', 'tcp:// bytes written per connection before it closes; udp:// and icmp:// data per datagram (16..1472, default 64)')
    .option('--connections <n>', 'concurrent client connections (default 1)')
    .option('--requests <n>', 'requests in all (default 1, or unbounded with --duration)')
    .option('--keepalive', 'keep connections open for all requests (the default)')
    .option('--conn-per-request', 'one request per connection')
    .option('--requests-per-conn <n>', 'requests per connection before it is closed and replaced')
    .option('--pipeline <depth>', 'requests in flight per connection (default 1)')
    .option('--dscp <n>', 'DSCP (0..63) of every packet the client sends: its connections\' segments, or its udp:// and icmp:// datagrams (default 0)')
    .option('--rate <n>', 'requests per second at most (connections per second with --conn-per-request or tcp://, datagrams per second with udp:// and icmp://, default 1)')
    .option('--method <m>', 'request method (GET; POST with --body-file)')
    .option('--body-file <file>', 'request body (sent with Content-Length)')
    .option('--save-body <file>', 'write the (last) response body to this file (one worker only)')
    .option('--sha256', 'print the sha256 of the (last) response body')
    .option('--expect-sha256 <hex>', 'count each response body as verified when its sha256 is this')
    .option('--connect-timeout <s>', `client: seconds a connection may take to open, 0 = no bound (default ${DEFAULT_CONNECT_TIMEOUT_S})`)
    .option('--response-timeout <s>', `client: seconds a request may wait with nothing received, 0 = no bound (default ${DEFAULT_RESPONSE_TIMEOUT_S})`)
    .option('--max-response-time <s>', 'client: seconds a request may take to be answered in whole (default: no bound)')
    .option('--tls-timeout <s>', `client: seconds the TLS handshake may take (default ${DEFAULT_TLS_TIMEOUT_S})`)
    .option('--allow-errors <ratio>', 'client: exit 0, not 3, when failures are at most this share of the work (e.g. 0.01)')
    .option('--tls', 'serve HTTPS (--server, with --cert and --key)')
    .option('--cert <file>', 'PEM certificate of the HTTPS server')
    .option('--key <file>', 'PEM private key of the HTTPS server')
    .option('--sni <name>', 'TLS server name the client sends and verifies')
    .option('--insecure', 'client: do not verify the server certificate')
    .option('--ca <file>', 'client: PEM CA bundle to verify the server with')
    .option('--tls-version <v>', 'TLS version to use, 1.2 or 1.3 (default: either)')
    .option('--tls-resume', 'client: resume TLS sessions (tickets and IDs) on new connections (default: every handshake a full one)')
    .option('--tls-engine <engine>', "TLS implementation: native (the addon's OpenSSL; the default when built) or node (node:tls)")
    .option('--pcap <file>', 'write every frame the port receives and sends to this pcap file (with --workers N > 1: FILE.wN.pcap per worker)')
    .option('--sslkeylog <file>', 'append the TLS secrets of every session to this file, for Wireshark (default: $SSLKEYLOGFILE)')
    .addOption(outOption())
    .addOption(hdrLogOption())
    .addOption(new Option('--workers <n>', 'poll-mode worker threads, one per port queue (adds queues=N to --port)').default('1'))
    .addOption(new Option('-R, --rest-port <port>', 'serve the REST API and Prometheus /metrics on this TCP port; without a load, the stack comes up and waits for one').argParser(restPort))
    .addOption(new Option('--rest-bind <address>', 'address the REST API listens on').default('127.0.0.1'))
    .addOption(new Option('--rest-token <token>', 'require "Authorization: Bearer <token>" on every REST request').env('VAIGAI_REST_TOKEN'));
  addConsoleOptions(run)
    .argument('[eal...]', 'after --: EAL arguments of a dpdk port, e.g. -- --no-huge -m 512 --vdev net_af_packet0,iface=eth1')
    .usage('--port <spec> --src-ip <range> [options] [-- EAL arguments]')
    .addHelpText('after', `\n${driversHelp()}`)
    .action(async (eal: string[], opts: RawRunOptions & ConsoleFlags & { workers: string; report?: string } & Partial<RestFlags>) => {
      if (opts.attach !== undefined) {
        const io = { input: process.stdin, output: process.stdout, errors: process.stderr, history: historyOf(opts), completer: completer(consoleCommands(startFlags(run, {}, []).flags)) };
        process.exitCode = await attachConsole(opts.attach === true ? defaultSocketPath() : opts.attach, io);
        return;
      }
      const ealArgs = ealOperands(eal, process.argv);
      const plan = parseRunOptions(opts, ealArgs);
      const n = /^\d+$/.test(opts.workers) ? Number(opts.workers) : NaN;
      if (!(n >= 1 && n <= MAX_WORKERS)) throw new InvalidOptionError('--workers', `"${opts.workers}" is not an integer in 1..${MAX_WORKERS}`);
      checkFiles(plan, n);
      if (opts.report !== undefined) checkWritable('--report', opts.report);
      if (opts.saveConfig !== undefined) saveProfile(plan, opts.saveConfig);
      if (opts.restToken !== undefined && opts.restPort === undefined && process.env.VAIGAI_REST_TOKEN !== opts.restToken) throw new InvalidOptionError('--rest-token', 'needs -R/--rest-port');
      if (opts.restToken !== undefined && opts.restPort !== undefined && opts.restToken.length < 8) throw new InvalidOptionError('--rest-token', 'give at least 8 characters');
      const rest = opts.restPort === undefined ? null : { restPort: opts.restPort, restBind: opts.restBind ?? '127.0.0.1', ...(opts.restToken !== undefined ? { restToken: opts.restToken } : {}) };
      // A console: asked for, or a terminal and nothing to run; its socket alone with --socket.
      const local = opts.interactive === true || (plan.mode.kind === 'stack' && process.stdin.isTTY === true);
      const consoles = local || opts.socket !== undefined ? { local, socket: opts.socket ?? null, history: historyOf(opts), run, eal: ealArgs } : null;
      if (rest === null && consoles === null) {
        // A terminal gets a table redrawn in place; anything else the plain live lines (scripts parse them).
        const done = await runSession(plan, n, { view: process.stdout.isTTY ? 'table' : 'lines' });
        if (opts.report !== undefined) {
          const path = opts.report;
          refusedAs('--report', `cannot write "${path}": `, () => writeFileSync(path, renderReport(done.result)));
        }
        exitFor(plan, done);
        return;
      }
      if (opts.report !== undefined) throw new InvalidOptionError('--report', 'not with -R or a console in this version: save the result with --json (or GET /api/v1/stats) and render it with `vaigai report`');
      await runGenerator(plan, n, opts, { rest, consoles });
    });
  return run;
}

/** -R PORT: a TCP port number. */
function restPort(text: string): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new InvalidOptionError('--rest-port', `"${text}" is not a port in 1..65535`);
  return n;
}

/** A run that failed a threshold exits 4, an HTTP client run that completed with failures 3; the reason printed last. */
function exitFor(plan: RunPlan, run: WorkersRunResult): void {
  if (run.client !== null && plan.mode.kind === 'client') {
    const v = clientExitCode(run.client, plan.mode.allowErrors);
    if (v.reason !== '') console.error(`vaigai: ${v.reason}`);
    if (v.code !== 0) process.exitCode = v.code;
  }
  const thresholds = run.result.thresholds ?? [];
  const failed = thresholds.filter((t) => !t.ok);
  if (failed.length > 0) {
    console.error(`vaigai: ${failed.length} of ${thresholds.length} thresholds failed: ${failed.map((t) => `${t.expr} (${fmtThresholdValue(t.metric, t.value)})`).join(', ')}`);
    process.exitCode = EXIT_THRESHOLDS;
  }
}

/**
 * Every file the run will read or write, checked before any traffic: a path
 * that cannot be used is refused by its option rather than as a bare ENOENT
 * once the port is up (or, for --json, a second into the load).
 */
function checkFiles(plan: RunPlan, workers: number): void {
  const m = plan.mode;
  const reads: [string, string | null][] = [];
  if ((m.kind === 'http' || m.kind === 'listen') && m.tls !== null) reads.push(['--cert', m.tls.cert], ['--key', m.tls.key]);
  if (m.kind === 'client') reads.push(['--body-file', m.bodyFile], ['--ca', m.tls?.ca ?? null]);
  for (const [option, path] of reads) {
    if (path !== null) refusedAs(option, `cannot read "${path}": `, () => accessSync(path, constants.R_OK));
  }
  const writes: [string, string][] = [];
  if (plan.jsonPath !== null) writes.push(['--json', plan.jsonPath]);
  if (plan.ndjsonPath !== null) writes.push(['--out', plan.ndjsonPath]);
  if (plan.hdrLogPath !== null) writes.push(['--hdr-log', plan.hdrLogPath]);
  if (m.kind === 'client' && m.saveBody !== null) writes.push(['--save-body', m.saveBody]);
  const pcap = plan.pcapPath;
  if (pcap !== null) for (let w = 0; w < workers; w++) writes.push(['--pcap', workerPcapPath(pcap, w, workers)]);
  if (plan.keylog !== null) writes.push([plan.keylog.from, plan.keylog.path]);
  for (const [option, path] of writes) checkWritable(option, path);
}

/** --save-config: the run's profile, as `--config` reads it back. */
function saveProfile(plan: RunPlan, path: string): void {
  const mode = plan.mode;
  if (!('profile' in mode)) throw new InvalidOptionError('--save-config', 'needs a client load (--client or --config): a profile describes client traffic');
  const profile = mode.profile;
  refusedAs('--save-config', `cannot write "${path}": `, () => writeFileSync(path, `${JSON.stringify(profile, null, 2)}\n`));
}

/** Opens `path` for appending as the run will, and leaves no trace of a file that was not there. */
function checkWritable(option: string, path: string): void {
  const existed = existsSync(path);
  refusedAs(option, `cannot write "${path}": `, () => closeSync(openSync(path, 'a')));
  if (!existed) rmSync(path, { force: true });
}

/** Runs `check`; its failure becomes an error that names the setting at fault. */
function refusedAs(setting: string, what: string, check: () => void): void {
  try {
    check();
  } catch (e) {
    throw new FileAccessError(setting, `${what}${e instanceof Error ? e.message : String(e)}`);
  }
}
