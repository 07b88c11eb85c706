import { mkdtempSync } from 'node:fs';
import { benchOptions } from './common';
import { ratioLine } from './ratios';
import { measureScaleLimits } from './scale';
(async () => {
  const t0 = Date.now();
  const base = benchOptions(process.argv[2] !== 'full', '/work/wt-bench/lib');
  const opts = process.argv[2] === 'mid' ? { ...base, scaleCounts: [1000, 10000, 100000] as const, scaleSynthRuns: 1, scaleApplyIterations: 1 } : base;
  const r = await measureScaleLimits(opts, mkdtempSync('/tmp/bench-sc-'));
  for (const x of r.ratios) console.log(ratioLine(x));
  console.log((Date.now() - t0) / 1000, 's');
})().catch((e) => { console.error(e); process.exit(1); });
