/** The process-group launcher lives in lib/local (`trustctl pipeline` starts servers too). */
export { freePort, spawnGroup, type GroupProcess } from '../../lib/local/process-group';
