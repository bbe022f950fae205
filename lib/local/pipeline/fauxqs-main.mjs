// Runs fauxqs (an SQS-protocol server, https://github.com/kibertoad/fauxqs) on 127.0.0.1 only: its own
// CLI listens on 0.0.0.0, and our servers never leave loopback. ESM because fauxqs ships ESM only.
// Started by ./fauxqs.ts; prints "fauxqs listening on <url>" once ready.
import { buildApp } from 'fauxqs';

const app = buildApp({ logger: false });
const address = await app.listen({ port: Number(process.env.FAUXQS_PORT ?? 0), host: '127.0.0.1' });
process.stdout.write(`fauxqs listening on ${address}\n`);
const stop = () => app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
