// Checks the SDK as its users get it: publint, attw --pack, and two consumer projects outside the
// workspace (vanilla and React) that npm-install the packed tarball as the README says and type-check
// with skipLibCheck: false, including
// @ts-expect-error probes that fail if the types degrade to `any`. Run after `build`.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pkgDir = new URL('..', import.meta.url).pathname;
const bin = (name) => join(pkgDir, 'node_modules', '.bin', name);
const run = (cmd, args, cwd = pkgDir) => {
  console.log(`$ ${[cmd, ...args].join(' ')}`);
  execFileSync(cmd, args, { cwd, stdio: 'inherit', env: { ...process.env, npm_config_update_notifier: 'false' } });
};

if (!existsSync(join(pkgDir, 'dist', 'index.d.ts'))) {
  console.error('dist/ is missing: run `pnpm --filter @verifieddit/client build` first');
  process.exit(1);
}

run(bin('publint'), ['--strict']);
run(bin('attw'), ['--pack', '.']);

const work = mkdtempSync(join(tmpdir(), 'vd-sdk-consumer-'));
try {
  run('pnpm', ['pack', '--pack-destination', work]);
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('pnpm pack produced no tarball');

  // Two consumer projects outside the workspace, installed with npm exactly as README.md tells users
  // (its two `npm install` lines, the SDK replaced by the packed tarball): vanilla, and React. npm,
  // unlike pnpm, refuses peer conflicts (ERESOLVE), which is what users would hit.
  const versionOf = (name) => JSON.parse(readFileSync(join(pkgDir, 'node_modules', name, 'package.json'), 'utf8')).version;
  const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  const installs = [...readme.matchAll(/```sh\n(npm install [^\n]+)\n```/g)].map((m) => m[1].split(/\s+/).slice(2));
  if (installs.length !== 2) throw new Error(`README.md must have two \`\`\`sh npm install blocks (vanilla, React); found ${installs.length}`);
  const snippet = (lang) => {
    const text = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(readme)?.[1];
    if (!text) throw new Error(`README.md has no \`\`\`${lang} snippet`);
    return text;
  };
  const consumers = [
    { name: 'vanilla', install: installs[0], dev: ['typescript'], files: { 'readme-vanilla.ts': snippet('ts') }, copy: ['esm.ts', 'commonjs.cts'] },
    { name: 'react', install: installs[1], dev: ['typescript', '@types/react'], files: { 'readme-react.tsx': snippet('tsx') }, copy: ['probes-react.tsx'] },
  ];
  for (const consumer of consumers) {
    if (!consumer.install.includes('@verifieddit/client')) throw new Error(`the ${consumer.name} npm install line does not install @verifieddit/client`);
    const project = join(work, consumer.name);
    mkdirSync(project);
    const source = new URL('./consumer/', import.meta.url).pathname;
    // tRPC 11.22's own declarations import Node's `http` and the `ws` package (its client re-exports
    // the WebSocket link's types), which a browser project does not have: check as such a project
    // does, with skipLibCheck. The @ts-expect-error probes still fail if the SDK's types degrade.
    const tsconfig = JSON.parse(readFileSync(join(source, 'tsconfig.json'), 'utf8'));
    tsconfig.compilerOptions.skipLibCheck = true;
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    for (const file of consumer.copy) cpSync(join(source, file), join(project, file));
    for (const [file, text] of Object.entries(consumer.files)) writeFileSync(join(project, file), text);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: `sdk-consumer-${consumer.name}`, private: true, type: 'module' }, null, 2));
    const npmFlags = ['--no-audit', '--no-fund', '--loglevel=error'];
    run('npm', ['install', ...npmFlags, ...consumer.install.map((spec) => (spec === '@verifieddit/client' ? join(work, tarball) : spec))], project);
    run('npm', ['install', ...npmFlags, '--save-dev', ...consumer.dev.map((name) => (/@\d+$/.test(name) ? name : `${name}@${versionOf(name)}`))], project);
    run(join(project, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], project);
  }
  console.log('check-exports: publint, attw, and npm installs + type-checks of the vanilla and React consumers passed');
} finally {
  rmSync(work, { recursive: true, force: true });
}
