/**
 * Memory probe for bench/image-scan's scan child (loaded with `node --require`, plain JavaScript so
 * it runs on any Node without a loader). Samples process.memoryUsage() every 50 ms and, at exit,
 * writes to the file named by TRUSTCTL_MEM_PROBE one JSON object: the breakdown at the sampled RSS
 * peak (MiB: rss, heapTotal, heapUsed, external, arrayBuffers; t = seconds since start), the V8 heap
 * spaces at exit (new_space is the young generation, sized by V8 per Node major), and the kernel's
 * peak RSS. It is what tells held data (arrayBuffers: captured bodies, zlib chunks not yet collected)
 * from V8 heap sizing and from native memory (the rest of the RSS). Main thread only: worker
 * threads' heaps show in rss, not in the heap or arrayBuffers figures.
 */
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- preloaded with `node --require`: CommonJS by necessity */
const { writeFileSync } = require('node:fs');
const v8 = require('node:v8');

const out = process.env.TRUSTCTL_MEM_PROBE;
if (out) {
  const MiB = 1024 * 1024;
  let peak = { rss: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    if (m.rss > peak.rss) peak = { ...m, t: process.uptime() };
  };
  setInterval(sample, 50).unref();
  process.on('exit', () => {
    sample();
    const mib = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, k === 't' ? Math.round(v * 10) / 10 : Math.round(v / MiB)]));
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().filter((s) => s.space_size > 0).map((s) => [s.space_name, Math.round(s.space_size / MiB)]));
    writeFileSync(out, JSON.stringify({ atPeak: mib(peak), spacesAtExit: spaces, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
  });
}
