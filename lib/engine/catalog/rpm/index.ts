export { RpmFormatError } from './errors';
export { parseRpmHeader, splitSourceRpm, RPMTAG, type RpmHeader } from './header';
export type { BlobsResult } from './blobs';
export { readBdbBlobs, isBdbHash } from './bdb';
export { readNdbBlobs, isNdb } from './ndb';
export { readSqliteBlobs, isSqlite } from './sqlite';
export {
  rpmCataloger, createRpmCataloger, catalogRpmDb, readRpmDbBlobs, rpmVersion, isRpmDbPath,
  RPM_CATALOGER_NAME, RPM_CATALOGER_VERSION, type RpmCatalogerOptions,
} from './cataloger';
export { parseRpmManifest } from './manifest';
