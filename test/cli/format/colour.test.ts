import { paintFor, wantsColour } from '../../../lib/cli/format/colour';
import { renderTable } from '../../../lib/cli/format/table';

describe('colour (https://no-color.org)', () => {
  it.each([
    ['a terminal', { isTTY: true }, {}, true],
    ['a pipe', { isTTY: false }, {}, false],
    ['a terminal with NO_COLOR', { isTTY: true }, { NO_COLOR: '1' }, false],
    ['a pipe with FORCE_COLOR', {}, { FORCE_COLOR: '1' }, true],
    ['FORCE_COLOR=0', { isTTY: true }, { FORCE_COLOR: '0' }, true],
    ['a dumb terminal', { isTTY: true }, { TERM: 'dumb' }, false],
    ['NO_COLOR wins over FORCE_COLOR', { isTTY: true }, { NO_COLOR: '1', FORCE_COLOR: '1' }, false],
  ])('%s', (_n, stream, env, expected) => expect(wantsColour(stream, env as NodeJS.ProcessEnv)).toBe(expected));

  it('colours the status word, and tables align on what a terminal shows', () => {
    const paint = paintFor({ isTTY: true }, {});
    expect(paint.status('trusted')).toBe('\u001b[1m\u001b[32mTRUSTED\u001b[39m\u001b[22m');
    expect(paintFor({ isTTY: false }, {}).status('quarantined')).toBe('QUARANTINED');
    const table = renderTable(['status', 'id'], [[paint.status('trusted'), 'a'], ['QUARANTINED', 'b']]);
     
    const lines = table.replace(/\u001b\[[0-9;]*m/g, '').split('\n');
    expect(lines.slice(0, 3)).toEqual(['STATUS       ID', 'TRUSTED      a', 'QUARANTINED  b']);
  });
});
