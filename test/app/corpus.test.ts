/**
 * The malformed corpus: each case is judged by vaigAI's parser (whole and fed
 * byte by byte), by node:http's llhttp over a real socket, and by vaigAI's
 * client and server over kernel TCP, which must count the coded error and
 * close the connection.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Http1Client } from '../../src/app/http11/client.js';
import { HTTP_ERR_NAMES } from '../../src/app/http11/errors.js';
import { KernelStream } from '../../src/app/http11/kernel_stream.js';
import { KIND_REQUEST, KIND_RESPONSE } from '../../src/app/http11/parser.js';
import { Http1Server } from '../../src/app/http11/server.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';
import { caseBytes, loadCorpus, verdict } from './corpus.js';

const LO = parseIp('127.0.0.1');
const responses = loadCorpus('responses.json');
const requests = loadCorpus('requests.json');

/** node:http client against a socket server that replays `raw` and closes. */
async function llhttpResponseVerdict(raw: Buffer): Promise<string> {
  const srv = net.createServer((s) => {
    s.once('data', () => s.end(raw));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  try {
    return await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), 3000);
      const req = http.get({ host: '127.0.0.1', port, agent: false, path: '/' }, (res) => {
        res.on('data', () => {});
        res.on('error', () => {});
        res.on('close', () => {
          clearTimeout(timer);
          resolve(res.complete ? 'ok' : 'error');
        });
      });
      req.on('error', () => {
        clearTimeout(timer);
        resolve('error');
      });
    });
  } finally {
    await new Promise((r) => srv.close(r));
  }
}

/** A raw socket client sends `raw` to a node:http server; ok when all requests completed without a client error. */
async function llhttpRequestVerdict(raw: Buffer, expected: number): Promise<string> {
  let completed = 0;
  let clientErrors = 0;
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      completed++;
      res.end('ok');
    });
  });
  srv.on('clientError', (_e, sock) => {
    clientErrors++;
    sock.destroy();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  try {
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.end(raw));
      const timer = setTimeout(() => {
        s.destroy();
        resolve();
      }, 3000);
      s.on('data', () => {});
      s.on('error', () => {});
      s.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return clientErrors === 0 && completed >= expected ? 'ok' : 'error';
  } finally {
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  }
}

const ok = (v: string): string => (v === 'ok' ? 'ok' : 'error');

describe('malformed response corpus', () => {
  for (const c of responses) {
    it(c.name, async () => {
      const bytes = caseBytes(c);
      const whole = verdict(KIND_RESPONSE, bytes, 1);
      assert.equal(whole, c.expect, 'vaigAI verdict');
      assert.equal(verdict(KIND_RESPONSE, bytes, 1, 1), whole, 'byte-by-byte feeding agrees');
      assert.equal(verdict(KIND_RESPONSE, bytes, 1, 7), whole, '7-byte feeding agrees');
      const node = await llhttpResponseVerdict(bytes);
      assert.equal(node, c.llhttp ?? ok(c.expect), `node:http verdict${c.why ? ` (deliberate difference: ${c.why})` : ''}`);
    });
  }
});

describe('malformed request corpus', () => {
  for (const c of requests) {
    it(c.name, async () => {
      const bytes = caseBytes(c);
      const n = c.requests ?? 1;
      const whole = verdict(KIND_REQUEST, bytes, n);
      assert.equal(whole, c.expect, 'vaigAI verdict');
      assert.equal(verdict(KIND_REQUEST, bytes, n, 1), whole, 'byte-by-byte feeding agrees');
      const node = await llhttpRequestVerdict(bytes, n);
      assert.equal(node, c.llhttp ?? ok(c.expect), `node:http verdict${c.why ? ` (deliberate difference: ${c.why})` : ''}`);
    });
  }
});

describe('corpus over kernel TCP: counted error, connection closed', () => {
  const t = new KernelStream();
  let server: Http1Server;
  let port = 0;
  before(async () => {
    server = new Http1Server({ transport: t, ip: LO, port: 0 });
    server.listen();
    await t.ready();
    port = t.boundPort();
  });
  after(() => t.stop());

  it('the server answers each bad request with 4xx, counts its code and closes', async () => {
    for (const c of requests.filter((x) => x.expect !== 'ok')) {
      const before = server.errorCodes.slice();
      const reply = await new Promise<string>((resolve) => {
        const chunks: Buffer[] = [];
        const s = net.connect(port, '127.0.0.1', () => {
          // A lying Content-Length is only detectable when the client gives up.
          if (c.expect === 'TRUNCATED_BODY') s.end(caseBytes(c));
          else s.write(caseBytes(c));
        });
        s.on('data', (d) => chunks.push(d));
        s.on('error', () => {});
        s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      });
      const code = HTTP_ERR_NAMES.indexOf(c.expect);
      assert.equal(server.errorCodes[code], before[code] + 1, `${c.name}: ${c.expect} counted`);
      if (c.expect !== 'TRUNCATED_BODY') assert.match(reply, /HTTP\/1\.1 [45]\d\d [^\r]*\r\nContent-Length: 0\r\nConnection: close\r\n\r\n$/, c.name);
    }
  });

  it('the client counts each bad response by code and closes', async () => {
    for (const c of responses.filter((x) => x.expect !== 'ok')) {
      const raw = caseBytes(c);
      let closedByClient = false;
      const srv = net.createServer((s) => {
        s.once('data', () => {
          // Keep the connection open unless the case needs a close to be detected.
          if (c.expect === 'TRUNCATED_BODY') s.end(raw);
          else s.write(raw);
        });
        s.on('end', () => (closedByClient = true));
        s.on('error', () => (closedByClient = true));
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const stats = await new Promise<Http1Client['stats']>((resolve) => {
        const cl = new Http1Client({
          transport: t, dstIp: LO, dstPort: (srv.address() as net.AddressInfo).port, host: 'a',
          requests: [{ method: 'GET', path: '/' }], totalRequests: 1, onDone: resolve,
        });
        cl.start();
      });
      // The server side sees the close on its own socket, possibly a loop turn later.
      for (let i = 0; i < 100 && !closedByClient; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => srv.close(r));
      assert.equal(stats.errors[HTTP_ERR_NAMES.indexOf(c.expect)], 1, `${c.name}: ${c.expect} counted`);
      assert.equal(stats.errors.reduce((a, b) => a + b), 1, c.name);
      assert.ok(closedByClient || c.expect === 'TRUNCATED_BODY', `${c.name}: client closed the connection`);
    }
  });
});
