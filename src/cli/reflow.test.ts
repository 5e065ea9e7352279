import { describe, expect, it } from 'vitest';
import { reflow } from './main.js';

describe('reflow', () => {
  it('joins the lines of a paragraph and keeps paragraphs, indented lines and examples', () => {
    expect(reflow('one\ntwo\nthree')).toBe('one two three');
    expect(reflow('one\n\ntwo')).toBe('one\n\ntwo');
    expect(reflow('list:\n  - a\n  - b')).toBe('list:\n  - a\n  - b');
    expect(reflow('says this.\nExample: ingot x')).toBe('says this.\nExample: ingot x');
    expect(reflow('')).toBe('');
  });
});
