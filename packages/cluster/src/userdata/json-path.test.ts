import { describe, expect, it } from 'vitest';
import { jsonPath } from './json-path.js';

describe('jsonPath', () => {
  it('formats identifiers, indexes and odd keys', () => {
    expect(jsonPath([])).toBe('$');
    expect(jsonPath(['storage', 'files', 2, 'contents', 'source'])).toBe(
      '$.storage.files[2].contents.source',
    );
    expect(jsonPath(['a b', 0])).toBe('$["a b"][0]');
  });
});
