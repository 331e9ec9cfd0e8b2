// `npm run fuzz -- --seconds 60 --seeds 1..50`: the fuzzer's long mode (test/fuzz/fuzz.test.ts)
// with more time per seed and more seeds than CI's pinned ones. Seeds: `7`, `1..50`, `3,9,12..20`.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    seeds: { type: 'string', default: '1..20' },
  },
});
if (!/^\d+$/.test(values.seconds) || !/^(\d+(\.\.\d+)?)(,\d+(\.\.\d+)?)*$/.test(values.seeds)) {
  console.error('usage: npm run fuzz -- [--seconds N] [--seeds 1..50|3,7,9]');
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const vitest = path.join(root, 'node_modules/.bin/vitest');
const run = spawnSync(vitest, ['run', 'test/fuzz/fuzz.test.ts', '-t', 'seeded fuzzing'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, FUZZ_SECONDS: values.seconds, FUZZ_SEEDS: values.seeds },
});
process.exit(run.status ?? 1);
