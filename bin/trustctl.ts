#!/usr/bin/env node
import { main } from '../lib/cli/main';
import { isLayerWorkerThread } from '../lib/engine/layer-worker/pool';

// Node 20 is supported here; the SDK's notice about its own future support is not the user's concern.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// The same bundle is the layer workers' script (lib/engine/layer-worker/pool.ts): there it serves layer jobs, not the CLI.
if (!isLayerWorkerThread()) main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`trustctl: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
