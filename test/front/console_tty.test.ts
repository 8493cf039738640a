/**
 * The console on a terminal, in tmux (`new-session -d`, `send-keys`,
 * `capture-pane`) on its own server socket: `vaigai` with a port and no mode
 * on a terminal shows the prompt; tab completes commands and their
 * arguments; the up arrow recalls history, kept in the history file; a
 * second pane attaches over the generator's socket, runs commands there and
 * detaches with `quit`, leaving the generator up; its own `quit` ends it.
 * The log records print as readable lines on the terminal. The ring port
 * needs no namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN } from './lab.js';

const GEN_IP = '198.18.141.1';

test('the console in tmux: prompt, completion, history, --attach from a second pane', { timeout: 90_000 }, async (t) => {
  if (spawnSync('sh', ['-c', 'command -v tmux'], { stdio: 'ignore' }).status !== 0) return t.skip('tmux is not installed (see scripts/install-deps.sh)');
  const dir = mkdtempSync(join(tmpdir(), 'vgcn-tty-'));
  const server = `vgcn-${process.pid}`;
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
  t.after(() => {
    spawnSync('tmux', ['-L', server, 'kill-server'], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });
  const sock = join(dir, 'console.sock');
  const history = join(dir, 'history');
  const screen = (pane: string): string => tmux('capture-pane', '-p', '-S', '-200', '-t', pane);
  const waitScreen = async (pane: string, re: RegExp, ms = 20_000): Promise<string> => {
    const end = Date.now() + ms;
    for (;;) {
      const s = screen(pane);
      if (re.test(s)) return s;
      if (Date.now() > end) throw new Error(`no ${re} on ${pane} within ${ms} ms:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const keys = (pane: string, ...k: string[]): string => tmux('send-keys', '-t', pane, ...k);
  // A key at a time, as typed: readline completes asynchronously, and two tabs in one read are not two presses.
  const tabTab = async (pane: string): Promise<void> => {
    for (let i = 0; i < 2; i++) {
      keys(pane, 'Tab');
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  // A pane attached to the generator; its id (the split prints it).
  const attach = (): string =>
    tmux('split-window', '-P', '-F', '#{pane_id}', '-t', 'gen', '-v', `${process.execPath} ${MAIN} --attach ${sock} --no-history; echo "attach exited $?"; sleep 30`).trim();
  const count = (s: string, re: RegExp): number => s.match(new RegExp(re.source, 'g'))?.length ?? 0;

  tmux('new-session', '-d', '-s', 'gen', '-x', '200', '-y', '60', `${process.execPath} ${MAIN} --port ring --src-ip ${GEN_IP} --socket ${sock} --history ${history}; sleep 30`);
  const main = 'gen:0.0';

  await t.test('the prompt, and the log as readable lines on the terminal', async () => {
    const s = await waitScreen(main, /^vaigai>\s*$/m);
    assert.match(s, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}generator idle event=state state=idle previous=starting$/m);
  });

  await t.test('tab completes a command, lists the topics of show, completes one', async () => {
    // Each completion is awaited before the next key: readline completes asynchronously.
    keys(main, 'sh', 'Tab');
    await waitScreen(main, /^vaigai> show\s*$/m);
    await tabTab(main);
    const s = await waitScreen(main, /interface\s+config\s+flows\s+arp\s+routes\s+workers\s+connections/);
    assert.match(s, /interface\s+config\s+flows\s+arp\s+routes\s+workers\s+connections/);
    keys(main, 'ro', 'Tab');
    await waitScreen(main, /^vaigai> show routes\s*$/m);
    // `show ro` would be refused: what runs is the completed `show routes` (on a terminal, its JSON indented).
    keys(main, 'Enter');
    await waitScreen(main, /^ {4}"prefix": "198\.18\.141\.0\/24",$/m);
    assert.doesNotMatch(screen(main), /^error /m);
  });

  await t.test('the up arrow recalls the history; the history file keeps it', async () => {
    keys(main, 'status', 'Enter');
    await waitScreen(main, /^ {2}"state": "idle",$/m);
    keys(main, 'Up', 'Up');
    await waitScreen(main, /^vaigai> show routes\s*$/m);
    keys(main, 'Enter');
    const s = await waitScreen(main, /("prefix"[^]*){2}/);
    assert.equal(count(s, /"prefix": "198\.18\.141\.0\/24"/), 2);
    assert.deepEqual(readFileSync(history, 'utf8').trim().split('\n').slice(-2), ['status', 'show routes']);
  });

  await t.test('--attach from a second pane: commands over the socket, quit detaches, the generator stays up', async () => {
    const attached = attach();
    await waitScreen(attached, /^vaigai>\s*$/m);
    keys(attached, 'st');
    await tabTab(attached);
    await waitScreen(attached, /^start\s+stop\s+status\s+stats\s*$/m);
    keys(attached, 'at');
    keys(attached, 'us', 'Enter');
    await waitScreen(attached, /^ {2}"state": "idle",$/m);
    keys(attached, 'bogus', 'Enter');
    await waitScreen(attached, /^error VG_ERR_UNKNOWN_COMMAND: no such command "bogus"/m);
    keys(attached, 'quit', 'Enter');
    // The attached console ended with the exit code of its first failure (bogus: 1); the generator still answers.
    await waitScreen(attached, /^attach exited 1$/m);
    keys(main, 'status', 'Enter');
    const s = await waitScreen(main, /("state": "idle"[^]*){2}/);
    assert.equal(count(s, /"state": "idle"/), 2);
  });

  await t.test('a second generator on the same --socket is refused; --attach with nobody there fails (exit 2)', () => {
    const second = spawnSync(process.execPath, [MAIN, '--interactive', '--port', 'ring', '--src-ip', GEN_IP, '--socket', sock, '--no-history'], { encoding: 'utf8', input: 'status\n', timeout: 30_000 });
    assert.equal(second.status, 2, second.stderr);
    assert.match(second.stderr, /"code":"VG_ERR_CONSOLE_SOCKET"/);
    assert.match(second.stderr, /^vaigai: --socket: a generator already serves its console on /m);
    const lost = spawnSync(process.execPath, [MAIN, '--attach', join(dir, 'nobody.sock'), '--no-history'], { encoding: 'utf8', input: 'status\n', timeout: 30_000 });
    assert.equal(lost.status, 2, lost.stderr);
    assert.match(lost.stderr, /^vaigai: --attach: no generator console on .*nobody\.sock/m);
  });

  await t.test("quit ends the generator and removes its socket; an attached console ends with exit 2", async () => {
    const attached = attach();
    await waitScreen(attached, /^vaigai>\s*$/m);
    keys(main, 'quit', 'Enter');
    await waitScreen(main, /generator closed/);
    assert.equal(existsSync(sock), false);
    const s = await waitScreen(attached, /^attach exited 2$/m);
    assert.match(s, /^vaigai: the generator on .*console\.sock closed the console$/m);
  });
});
