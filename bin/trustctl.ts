#!/usr/bin/env node
import { main } from '../lib/cli/main';

// Node 20 is supported here; the SDK's notice about its own future support is not the user's concern.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`trustctl: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
