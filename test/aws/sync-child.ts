/**
 * Child process of the DynamoDB interrupted-sync test (run with tsx): `syncFeeds` of the given feeds
 * into a DynamoAdvisoryStore on DynamoDB Local, one progress line per source. The parent kills it with
 * SIGKILL in the middle of an export — exactly what a Lambda timeout or a killed process leaves behind.
 *
 * Usage: sync-child.ts <endpoint> <table> <feed>...
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoAdvisoryStore } from '../../lib/aws/advisory-store';
import { openFeed } from '../../lib/engine/advisories/feed';
import { syncFeeds } from '../../lib/engine/sync-feeds';

async function main(): Promise<void> {
  const [endpoint, table, ...feeds] = process.argv.slice(2);
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const store = new DynamoAdvisoryStore({ client, tableName: table });
  const sources = (await Promise.all(feeds.map((f) => openFeed(f)))).flat();
  await syncFeeds(sources, store, { onProgress: (r) => process.stdout.write(`${r.source}: ${r.read} read\n`) });
  client.destroy();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(3);
});
