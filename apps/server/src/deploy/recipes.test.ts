import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Instruction, type ModifiableInstruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { serverDir } from '../testing/processes.js';

/**
 * Neither a container engine nor nixpkgs is reachable on these machines, so the recipes are checked as
 * text: the Dockerfile through a Dockerfile parser, compose.yaml through a YAML parser, flake.nix by
 * the properties the deployment relies on. Building and running the images is not verified here.
 */
const repoRoot = join(serverDir, '../..');
const read = (name: string) => readFileSync(join(repoRoot, name), 'utf8');

/** Anything that looks like a real key or a secret-bearing variable set at build time. */
const SECRET_VALUE = /\b(sk|rk)_(test|live)_\w+|whsec_\w+|pk_(test|live)_\w+|-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|API_KEY|PRIVATE|_KEY\b|DATABASE_URL/i;

describe('Dockerfile', () => {
  const dockerfile = DockerfileParser.parse(read('Dockerfile'));
  const instructions = dockerfile.getInstructions();
  // Instructions grouped by stage (each FROM starts one).
  const stages: Instruction[][] = [];
  for (const instruction of instructions) {
    if (instruction.getKeyword() === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  const final = stages.at(-1) ?? [];
  const inFinal = (keyword: string) => final.filter((i) => i.getKeyword() === keyword);
  const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());
  const flags = (i: Instruction) => Object.fromEntries((i as ModifiableInstruction).getFlags().map((f) => [f.getName(), f.getValue()]));

  it('is multi-stage: the artifact is built in one stage and only it is copied into the runtime', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages.slice(0, -1).flat();
    expect(build.some((i) => i.getKeyword() === 'RUN' && /pnpm artifact --out \/artifact/.test(i.getArgumentsContent() ?? ''))).toBe(true);
    const copies = inFinal('COPY');
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      expect(flags(copy)).toEqual({ from: 'build' });
      expect(args(copy)[0]).toBe('/artifact');
    }
    // No package manager, compiler or source in the runtime stage.
    expect(inFinal('RUN')).toEqual([]);
  });

  it('runs on a small runtime base as a non-root user, with the artifact as its entry point', () => {
    const base = args(final[0]!)[0]!;
    expect(base).toMatch(/^gcr\.io\/distroless\/nodejs\d+-debian\d+:nonroot$/);
    const users = inFinal('USER');
    expect(users.length).toBeGreaterThan(0);
    const user = args(users.at(-1)!)[0]!;
    expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
    expect(inFinal('ENTRYPOINT').at(-1)?.getArgumentsContent()).toBe('["/nodejs/bin/node", "/app/index.js"]');
  });

  it('has a HEALTHCHECK on /health in the runtime stage', () => {
    const checks = inFinal('HEALTHCHECK');
    expect(checks).toHaveLength(1);
    const content = checks[0]!.getArgumentsContent() ?? '';
    expect(content).toMatch(/CMD \["\/nodejs\/bin\/node"/);
    expect(content).toContain("/health'");
    expect(flags(checks[0]!)).toMatchObject({ interval: expect.stringMatching(/^\d+s$/), timeout: expect.stringMatching(/^\d+s$/) });
  });

  it('puts no secret in any layer: no ARG or ENV that carries one, no key-looking value, no .env copied', () => {
    for (const instruction of instructions.filter((i) => i.getKeyword() === 'ARG' || i.getKeyword() === 'ENV')) {
      for (const arg of args(instruction)) expect(arg.split('=')[0], instruction.getArgumentsContent() ?? '').not.toMatch(SECRET_NAME);
    }
    expect(read('Dockerfile')).not.toMatch(SECRET_VALUE);
    for (const copy of instructions.filter((i) => i.getKeyword() === 'COPY' || i.getKeyword() === 'ADD')) {
      expect(copy.getArgumentsContent()).not.toMatch(/\.env|\.pem|\.key\b/);
    }
    // `COPY . .` relies on .dockerignore to keep secrets and local state out of the build context.
    const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
    for (const entry of ['.env', '.env.*', '**/.env', '.git', '.data', '**/node_modules', '*.pem']) expect(ignored).toContain(entry);
  });
});

describe('compose.yaml', () => {
  const compose = parseYaml(read('compose.yaml'), { merge: true }) as {
    services: Record<string, Record<string, any>>;
    configs?: Record<string, { content?: string }>;
  };
  const services = compose.services;
  const servers = Object.entries(services).filter(([, s]) => s.image === 'verifieddit-server:local' && !(s.command ?? []).includes('migrate'));

  it('runs PostgreSQL with a healthcheck', () => {
    expect(services.postgres?.image).toMatch(/^postgres:\d+/);
    expect(services.postgres?.healthcheck?.test).toEqual(expect.arrayContaining(['pg_isready']));
  });

  it('migrates once, after PostgreSQL is healthy, with the server image', () => {
    const migrate = services.migrate!;
    expect(migrate.command).toEqual(['migrate']);
    expect(migrate.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(migrate.restart).toBe('no');
  });

  it('runs two server replicas, each healthchecked on /health and started only after the migration succeeded', () => {
    expect(servers).toHaveLength(2);
    for (const [name, server] of servers) {
      expect(server.depends_on?.migrate, name).toEqual({ condition: 'service_completed_successfully' });
      expect(server.healthcheck?.test?.join(' '), name).toContain('/health');
      expect(server.ports, `${name} is reached only through the proxy`).toBeUndefined();
      expect(server.environment?.NODE_ENV).toBe('production');
    }
  });

  it('publishes exactly one port, in front of both replicas, which it checks on /ready', () => {
    const published = Object.entries(services).filter(([, s]) => s.ports?.length);
    expect(published.map(([name]) => name)).toEqual(['proxy']);
    expect(published[0]![1].ports).toHaveLength(1);
    expect(services.proxy?.healthcheck?.test).toBeDefined();
    const caddyfile = compose.configs?.caddyfile?.content ?? '';
    for (const [name] of servers) expect(caddyfile).toContain(`${name}:8080`);
    expect(caddyfile).toContain('health_uri /ready');
  });

  it('takes every secret from the environment at run time, never a literal', () => {
    expect(read('compose.yaml')).not.toMatch(SECRET_VALUE);
    for (const [, server] of [...servers, ['migrate', services.migrate!] as const]) {
      for (const [name, value] of Object.entries(server.environment as Record<string, string>)) {
        if (SECRET_NAME.test(name) && name !== 'DATABASE_URL') expect(value, name).toMatch(/^\$\{[A-Z_]+:?[-?][^}]*\}$/);
      }
    }
  });
});

describe('flake.nix', () => {
  const flake = read('flake.nix');

  it('defines packages.x86_64-linux.oci-image with dockerTools', () => {
    expect(flake).toMatch(/system = "x86_64-linux";/);
    expect(flake).toMatch(/packages\.\$\{system\}\s*=\s*\{[\s\S]*oci-image = pkgs\.dockerTools\.build(Layered)?Image/);
  });

  it('runs Bun from nixpkgs by its store path, with no /usr/bin/env anywhere', () => {
    expect(flake).toMatch(/Entrypoint = \[ "\$\{pkgs\.bun\}\/bin\/bun" "\$\{server\}\/app\/index\.js" \];/);
    expect(flake).not.toContain('/usr/bin/env');
  });

  it('copies the prebuilt artifact in, so the build needs no network', () => {
    expect(flake).toMatch(/builtins\.path \{ path = \.\/\.output;/);
    expect(flake).not.toMatch(/fetchurl|fetchFromGitHub|fetchgit|buildNpmPackage|pnpm install|npm install/);
  });

  it('runs as a non-root user with a healthcheck on /health', () => {
    expect(flake).toMatch(/User = "65532:65532";/);
    expect(flake).toMatch(/Healthcheck = \{\s*Test = \[ "CMD" "\$\{pkgs\.bun\}\/bin\/bun" "-e" healthcheck \];/);
    expect(flake).toMatch(/healthcheck = "fetch\('http:\/\/127\.0\.0\.1:'\+\(process\.env\.PORT\|\|8080\)\+'\/health'\)/);
  });
});
