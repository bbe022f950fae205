import { type Profile, summarise } from '../../../bench/layer-throughput/profile';

/**
 * bench/layer-throughput/profile.ts: the self-time summary the README quotes says which part of the
 * walk a sample belongs to by the frame's function and script. Each case is one frame sampled for
 * 1 ms; the summary must put it in the named category.
 */
const cases: { name: string; functionName: string; url: string; category: string }[] = [
  { name: 'idle thread', functionName: '(idle)', url: '', category: 'idle (waiting for inflate or a core)' },
  { name: 'GC', functionName: '(garbage collector)', url: '', category: 'garbage collector' },
  { name: 'Hash#update (native)', functionName: 'update', url: '', category: 'sha256 (diff_id)' },
  { name: 'Hash#update (Node 20 JS wrapper)', functionName: 'update', url: 'node:internal/crypto/hash', category: 'sha256 (diff_id)' },
  { name: 'zlib processCallback', functionName: 'processCallback', url: 'node:zlib', category: 'zlib callbacks, output buffers, threadpool hand-offs (native write, read)' },
  { name: 'native zlib write', functionName: 'write', url: '', category: 'zlib callbacks, output buffers, threadpool hand-offs (native write, read)' },
  { name: 'tar parser write (not the native write)', functionName: 'write', url: 'file:///r/lib/engine/layers/tar.ts', category: 'tar parser (tar.ts, tar-header.ts)' },
  { name: 'tar header checksum', functionName: 'unsignedChecksum', url: 'file:///r/lib/engine/layers/tar-header.ts', category: 'tar parser (tar.ts, tar-header.ts)' },
  { name: 'runtime model', functionName: 'member', url: 'file:///r/lib/engine/layers/runtime-model.ts', category: 'runtime model (runtime-model.ts)' },
  { name: 'reader closure', functionName: '', url: 'file:///r/lib/engine/layers/layer-reader.ts', category: 'layer reader (layer-reader.ts, decompress.ts)' },
  { name: 'a cataloger predicate', functionName: 'wants', url: 'file:///r/lib/engine/catalog/golang/index.ts', category: "catalogers' wants predicates" },
  { name: 'a predicate regex', functionName: 'RegExp: \\/s?bin\\/[^/]+$', url: '', category: "catalogers' wants predicates" },
  { name: 'a content check', functionName: 'write', url: 'file:///r/lib/engine/checks/secrets/stream.ts', category: 'content checks' },
  { name: 'stream machinery', functionName: 'addChunk', url: 'node:internal/streams/readable', category: 'streams, events, ticks' },
  { name: 'the profiler stopping', functionName: 'post', url: 'node:inspector', category: 'profiler itself (stopping it)' },
  { name: 'the profiler stopping (Node 20: native dispatch)', functionName: 'dispatch', url: '', category: 'profiler itself (stopping it)' },
  { name: 'anything else', functionName: 'parse', url: '', category: 'other' },
];

describe('summarise: self time by category', () => {
  it.each(cases)('$name → $category', ({ functionName, url, category }) => {
    const p: Profile = {
      nodes: [{ id: 1, callFrame: { functionName: '(root)', url: '' }, children: [2] }, { id: 2, callFrame: { functionName, url } }],
      samples: [2, 2, 2],
      timeDeltas: [1000, 1000, 1000],
    };
    expect(summarise(p)).toEqual([[category, 3]]);
  });

  it('adds up samples per category and sorts the largest first', () => {
    const p: Profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(idle)', url: '' } },
        { id: 2, callFrame: { functionName: 'update', url: '' } },
        { id: 3, callFrame: { functionName: 'header', url: 'file:///r/lib/engine/layers/tar.ts' } },
      ],
      samples: [1, 2, 3, 2, 3, 3],
      timeDeltas: [500, 1000, 1000, 1000, 1000, 2000],
    };
    expect(summarise(p)).toEqual([['tar parser (tar.ts, tar-header.ts)', 4], ['sha256 (diff_id)', 2], ['idle (waiting for inflate or a core)', 0.5]]);
  });
});
