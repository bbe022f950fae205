/**
 * The scan progress bar: on stderr, only when stderr is a terminal (CI logs and pipes get none, and
 * stdout stays the report alone), drawn with cli-progress.
 */
import { SingleBar } from 'cli-progress';
import type { ScanProgress } from '../engine/scan-image';
import { formatBytes } from './format/table';

/** A progress sink for {@link ScanOptions.onProgress}, and `stop()` to clear the bar. */
export interface ScanProgressBar {
  readonly onProgress?: (p: ScanProgress) => void;
  stop(): void;
}

/** A bar on `stream` when it is a TTY (and `enabled`), else a no-op. */
export function scanProgressBar(stream: NodeJS.WritableStream & { isTTY?: boolean }, enabled = true): ScanProgressBar {
  if (!enabled || stream.isTTY !== true) return { stop: () => undefined };
  const bar = new SingleBar({
    stream,
    format: 'scanning {platform} [{bar}] {value}/{total} layers | {bytes} | {source}',
    barsize: 24,
    hideCursor: true,
    clearOnComplete: true,
    // The bar is redrawn on events only: a scan's layers arrive seconds apart.
    noTTYOutput: false,
  });
  let platform: string | undefined;
  return {
    onProgress: (p) => {
      const payload = { platform: p.platform, bytes: `${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}`, source: p.cached ? 'cached' : 'read' };
      if (platform !== p.platform) {
        if (platform !== undefined) bar.stop();
        platform = p.platform;
        bar.start(p.layersTotal, p.layersDone, payload);
      } else {
        bar.update(p.layersDone, payload);
      }
    },
    stop: () => {
      if (platform !== undefined) bar.stop();
    },
  };
}
