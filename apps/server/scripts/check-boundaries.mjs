// Only the Stripe adapter may import `stripe`; nothing may import an SDK client into procedures.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('../src', import.meta.url).pathname;
const allowedStripe = /^billing\/stripe\//;
const offenders = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) {
      const rel = relative(root, path);
      const text = readFileSync(path, 'utf8');
      if (/from ['"]stripe['"]|import\(['"]stripe['"]\)|require\(['"]stripe['"]\)/.test(text) && !allowedStripe.test(rel)) offenders.push(rel);
    }
  }
};
walk(root);
if (offenders.length) {
  console.error(`These files import 'stripe' outside src/billing/stripe/:\n  ${offenders.join('\n  ')}`);
  process.exit(1);
}
console.log('boundaries ok');
