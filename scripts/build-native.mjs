// Builds the native packet-I/O addon during `npm install`. A missing compiler or
// missing system libraries never fail the install: the drivers that cannot be
// built are left out (binding.gyp asks pkg-config) and the pure-TypeScript
// drivers (ring, null) still work.
// With --if-changed (run before the tests, after the system packages were
// installed) it rebuilds only when the set of buildable drivers changed since
// the last build, e.g. `npm install` ran before libdpdk-dev was there.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

if (!existsSync('binding.gyp')) process.exit(0);

const pkgConfig = (mods) => spawnSync('pkg-config', ['--exists', ...mods]).status === 0;
const optional = [
  ['af_xdp', ['libxdp', 'libbpf'], 'libxdp-dev libbpf-dev', 'VAIGAI_NO_AF_XDP'],
  ['dpdk', ['libdpdk'], 'libdpdk-dev', 'VAIGAI_NO_DPDK'],
];
const buildable = optional.filter(([, mods, , off]) => !process.env[off] && pkgConfig(mods)).map(([d]) => d);
const stamp = 'build/drivers.json';
const wanted = JSON.stringify(buildable);
if (process.argv.includes('--if-changed') && existsSync('build/Release/vaigai_native.node') && existsSync(stamp)) {
  if (readFileSync(stamp, 'utf8') === wanted) process.exit(0);
  console.log('vaigai: the set of buildable drivers changed; rebuilding the native addon');
}
for (const [driver, mods, debs, off] of optional) {
  if (process.env[off]) console.log(`vaigai: ${driver} driver left out (${off} is set)`);
  else if (buildable.includes(driver)) console.log(`vaigai: building the ${driver} driver`);
  else console.warn(`vaigai: ${driver} driver left out: ${mods.join(' and ')} not found by pkg-config (apt-get install ${debs})`);
}

// npm passes its bundled node-gyp; Debian's Node has its headers under /usr, so no download is needed.
// Outside npm (a manual rebuild), the node-gyp bundled with npm next to this Node.
const bundled = join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
const npmGyp = process.env.npm_config_node_gyp ?? (existsSync(bundled) ? bundled : undefined);
const gypArgs = ['rebuild'];
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) gypArgs.push('--nodedir=/usr');
const [cmd, args] = npmGyp ? [process.execPath, [npmGyp, ...gypArgs]] : ['npx', ['node-gyp', ...gypArgs]];
const r = spawnSync(cmd, args, { stdio: 'inherit' });
if (r.status === 0) writeFileSync(stamp, wanted);
else console.warn('vaigai: native addon build failed; only the ring and null ports are available.');
