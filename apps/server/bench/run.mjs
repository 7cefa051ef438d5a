// `pnpm bench`: every benchmark of the server, each printing ratios against a baseline measured in the same run.
const which = process.argv[2];
const suites = { 'cold-start': './cold-start.mjs', 'ai-detect': './ai-detect.mjs', webhooks: './webhooks.mjs' };
for (const [name, path] of Object.entries(suites)) {
  if (which && which !== name) continue;
  console.log(`\n=== ${name} ===`);
  await import(path);
}
