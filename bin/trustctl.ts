#!/usr/bin/env node
import { main } from '../lib/cli/main';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`trustctl: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
