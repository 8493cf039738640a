// The namespace fixture the port tests stand on: one process at a time holds a
// prefix, so two test runs on one machine cannot sweep each other's namespaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { NetnsLab, netTestSkipReason } from '../helpers/netns.js';

test('NetnsLab: a second process waits for a held prefix instead of sweeping it', async (t) => {
  const reason = netTestSkipReason();
  if (reason) return t.skip(reason);
  const helper = JSON.stringify(new URL('../helpers/netns.js', import.meta.url).href);
  // The child holds vglock- with one namespace, tells the parent, and after a
  // while reports whether its namespace survived the parent's new lab.
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    const { NetnsLab } = await import(${helper});
    const lab = new NetnsLab('vglock-');
    lab.addNs('held');
    console.log('held');
    await new Promise((r) => setTimeout(r, 1500));
    console.log(lab.run(null, 'ip', ['netns', 'list']).includes('vglock-held') ? 'kept' : 'swept');
    lab.cleanup();`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the child did not take the prefix: ${out}`)), 10_000);
    child.stdout.on('data', () => {
      if (out.includes('held')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  // Blocks until the child released the prefix; without the lock its sweep would remove vglock-held now.
  const lab = new NetnsLab('vglock-');
  t.after(() => lab.cleanup());
  assert.equal(await exited, 0);
  assert.deepEqual(out.trim().split('\n'), ['held', 'kept'], 'the child kept its namespace while it held the prefix');
  assert.equal(existsSync('/run/vaigai-netns/vglock-lock'), true, 'this process holds the prefix now');
  lab.cleanup();
  assert.equal(existsSync('/run/vaigai-netns/vglock-lock'), false, 'and released it on cleanup');
});

test('NetnsLab: a prefix left held by a dead process is taken over', async (t) => {
  const reason = netTestSkipReason();
  if (reason) return t.skip(reason);
  const helper = JSON.stringify(new URL('../helpers/netns.js', import.meta.url).href);
  // The child takes the prefix, leaves a namespace and dies without cleaning up.
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    const { NetnsLab } = await import(${helper});
    new NetnsLab('vglock-').addNs('left');
    process.kill(process.pid, 'SIGKILL');`], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(existsSync('/run/vaigai-netns/vglock-lock'), true, 'the dead process left its lock');
  const lab = new NetnsLab('vglock-');
  t.after(() => lab.cleanup());
  assert.doesNotMatch(lab.run(null, 'ip', ['netns', 'list']), /vglock-left/, 'its namespace was swept');
});
