// Builds the native packet-I/O addon during `npm install`. A missing compiler or
// missing system libraries never fail the install: the drivers that cannot be
// built are left out and the pure-TypeScript drivers (ring, null) still work.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync('binding.gyp')) process.exit(0);
const npmGyp = process.env.npm_config_node_gyp;
const [cmd, args] = npmGyp ? [process.execPath, [npmGyp, 'rebuild']] : ['npx', ['node-gyp', 'rebuild']];
const r = spawnSync(cmd, args, { stdio: 'inherit' });
if (r.status !== 0) {
  console.warn('vaigai: native addon build failed; only the ring and null ports are available.');
}
