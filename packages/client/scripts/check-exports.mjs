// Checks the SDK as its users get it: publint, attw --pack, and a consumer project outside the
// workspace that installs the packed tarball and type-checks with skipLibCheck: false, including
// @ts-expect-error probes that fail if the types degrade to `any`. Run after `build`.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

  // Peers at the versions the workspace resolved, so the consumer installs from the local store.
  const versionOf = (name) => JSON.parse(readFileSync(join(pkgDir, 'node_modules', name, 'package.json'), 'utf8')).version;
  const project = join(work, 'consumer');
  cpSync(new URL('./consumer', import.meta.url).pathname, project, { recursive: true });
  // The README's snippets are compiled as written: what an npm user reads is what is checked.
  const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  for (const [lang, file] of [['ts', 'readme-vanilla.ts'], ['tsx', 'readme-react.tsx']]) {
    const snippet = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(readme)?.[1];
    if (!snippet) throw new Error(`README.md has no \`\`\`${lang} snippet`);
    writeFileSync(join(project, file), snippet);
  }
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify(
      {
        name: 'sdk-consumer',
        private: true,
        type: 'module',
        dependencies: {
          '@verifieddit/client': `file:../${tarball}`,
          '@trpc/client': versionOf('@trpc/client'),
          '@trpc/server': versionOf('@trpc/server'),
          zod: versionOf('zod'),
          '@trpc/tanstack-react-query': versionOf('@trpc/tanstack-react-query'),
          '@tanstack/react-query': versionOf('@tanstack/react-query'),
          react: versionOf('react'),
        },
        devDependencies: { typescript: versionOf('typescript'), '@types/react': versionOf('@types/react') },
      },
      null,
      2,
    ),
  );
  // Outside the workspace: its own lockfile, no workspace config; prefer the local store.
  writeFileSync(join(project, 'pnpm-workspace.yaml'), 'packages: []\n');
  run('pnpm', ['install', '--prefer-offline', '--ignore-workspace', '--config.confirmModulesPurge=false'], project);
  run(join(project, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], project);
  console.log('check-exports: publint, attw and the consumer type-check passed');
} finally {
  rmSync(work, { recursive: true, force: true });
}
