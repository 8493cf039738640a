/**
 * Makes the Linux kernel produce real frames and captures them: two network
 * namespaces (vgwire-*) joined by a veth pair on 198.18.250.0/24, TX checksum
 * offload off on both ends (else captures hold partial checksums). Traffic:
 * ping (ARP + ICMP echo), UDP to a closed port (ICMP port unreachable), a 20 kB
 * TCP upload with one segment dropped by nftables on the receiver (so the
 * kernel answers with SACK blocks), a short reply and close, and a SYN to a
 * closed port (RST). Everything is torn down before returning, also on failure.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPcap, type PcapFile, type PcapRecord } from './pcap_reader.js';

export const NET_A = '198.18.250.1';
export const NET_B = '198.18.250.2';
export const MAC_A = '02:76:67:fa:00:01';
export const MAC_B = '02:76:67:fa:00:02';
const TCP_PORT = 5001;
const CLOSED_TCP_PORT = 5002;
const CLOSED_UDP_PORT = 9;

/** Why the kernel capture cannot run here, or null when it can. */
export function kernelCaptureUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  for (const tool of ['ip', 'tcpdump', 'ethtool', 'nft']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (scripts/install-deps.sh installs it)`;
    }
  }
  return null;
}

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: 15000, input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Resolves when `stream` prints `text`; rejects after `ms` or when the process exits first. */
function waitFor(proc: ChildProcess, stream: 'stdout' | 'stderr', text: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for "${text}": ${seen}`)), ms);
    proc[stream]?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before printing "${text}": ${seen}`));
    });
  });
}

function waitExit(proc: ChildProcess, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve();
    }, ms);
    proc.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * tcpdump stops without draining its socket on SIGINT: wait (at most 5 s) until
 * the file holds the last frame sent, the RST from the closed port.
 */
async function drained(file: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    let recs: PcapRecord[];
    try {
      recs = readPcap(file).records;
    } catch {
      continue; // not created yet, or caught mid-write
    }
    // Untagged IPv4 without options: the TCP source port is at byte 34.
    if (recs.some((r) => r.data.length >= 54 && r.data[23] === 6 && ((r.data[34] << 8) | r.data[35]) === CLOSED_TCP_PORT)) return;
  }
}

const SERVER_JS = `require('net').createServer((s) => {
  let n = 0;
  s.on('data', (d) => { n += d.length; });
  s.on('end', () => s.end('got ' + n));
}).listen(${TCP_PORT}, '${NET_B}', () => console.log('ready'));`;

const CLIENT_JS = `const c = require('net').connect(${TCP_PORT}, '${NET_B}', () => c.end(Buffer.alloc(20000, 97)));
c.on('data', (d) => process.stdout.write(d));
setTimeout(() => process.exit(2), 10000).unref();`;

const UDP_JS = `const s = require('dgram').createSocket('udp4');
s.send('hi', ${CLOSED_UDP_PORT}, '${NET_B}', () => s.close());`;

const RST_JS = `const c = require('net').connect(${CLOSED_TCP_PORT}, '${NET_B}');
c.on('error', (e) => console.log(e.code));`;

// Drops the second full-size segment of the upload, once: the receiver then
// holds data beyond a hole and acknowledges it with SACK blocks (RFC 2018).
const NFT_RULES = `table ip vgwire {
  chain in {
    type filter hook input priority 0;
    tcp dport ${TCP_PORT} meta length > 1000 numgen inc mod 1000000 == 1 drop
  }
}`;

export async function captureKernelTraffic(): Promise<PcapFile> {
  const id = process.pid;
  const nsA = `vgwire-a-${id}`;
  const nsB = `vgwire-b-${id}`;
  const ifA = `vgw${id}a`;
  const ifB = `vgw${id}b`;
  const dir = mkdtempSync(join(tmpdir(), 'vgwire-'));
  const file = join(dir, 'kernel.pcap');
  let tcpdump: ChildProcess | null = null;
  let server: ChildProcess | null = null;
  const inA = (args: string[]): string => run('ip', ['netns', 'exec', nsA, ...args]);
  const node = process.execPath;
  try {
    run('ip', ['netns', 'add', nsA]);
    run('ip', ['netns', 'add', nsB]);
    run('ip', ['link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
    for (const [ns, ifc, mac, addr] of [
      [nsA, ifA, MAC_A, NET_A],
      [nsB, ifB, MAC_B, NET_B],
    ]) {
      run('ip', ['-n', ns, 'link', 'set', ifc, 'address', mac]);
      run('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', ifc]);
      run('ip', ['-n', ns, 'link', 'set', ifc, 'up']);
      run('ip', ['netns', 'exec', ns, 'ethtool', '-K', ifc, 'tx', 'off']);
    }
    run('ip', ['netns', 'exec', nsB, 'nft', '-f', '-'], NFT_RULES);

    tcpdump = spawn('ip', ['netns', 'exec', nsB, 'tcpdump', '-i', ifB, '-U', '-s', '0', '-w', file, 'not ip6'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    await waitFor(tcpdump, 'stderr', 'listening on', 10000);
    server = spawn('ip', ['netns', 'exec', nsB, node, '-e', SERVER_JS], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitFor(server, 'stdout', 'ready', 10000);

    inA(['ping', '-c', '1', '-W', '2', NET_B]);
    inA([node, '-e', UDP_JS]);
    const reply = inA([node, '-e', CLIENT_JS]);
    if (reply !== 'got 20000') throw new Error(`TCP upload: server answered "${reply}"`);
    inA([node, '-e', RST_JS]);
    await drained(file);
    tcpdump.kill('SIGINT');
    await waitExit(tcpdump, 5000);
    return readPcap(file);
  } finally {
    if (server !== null) {
      server.kill('SIGTERM');
      await waitExit(server, 2000);
    }
    if (tcpdump !== null) {
      tcpdump.kill('SIGINT');
      await waitExit(tcpdump, 2000);
    }
    for (const ns of [nsA, nsB]) {
      try {
        run('ip', ['netns', 'del', ns]);
      } catch {
        // not created
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
