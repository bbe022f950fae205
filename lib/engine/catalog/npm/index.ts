import type { Cataloger } from '../types';
import { npmInstalledCataloger } from './package-json';
import { npmLockfileCataloger } from './package-lock';
import { pnpmLockCataloger } from './pnpm-lock';
import { yarnLockCataloger } from './yarn-lock';

export { type NpmEntry, npmPurl } from './common';
export { parsePackageLock, wantsPackageLock, npmLockfileCataloger } from './package-lock';
export { parsePackageJson, wantsInstalledPackageJson, npmInstalledCataloger } from './package-json';
export { parseYarnLock, parseYarnV1, parseYarnBerry, wantsYarnLock, yarnLockCataloger } from './yarn-lock';
export { parsePnpmLock, wantsPnpmLock, pnpmLockCataloger } from './pnpm-lock';

/** All npm-ecosystem catalogers. */
export const npmCatalogers: readonly Cataloger[] = [npmLockfileCataloger, yarnLockCataloger, pnpmLockCataloger, npmInstalledCataloger];
