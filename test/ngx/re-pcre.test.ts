// translatePcre as nginx.conf regexes use it: new RegExp(t.source, t.flags) on JS strings.
import { describe, it, expect } from 'vitest';
import { translatePcre, PcreError } from '../../src/ngx/pcre.js';

function re(pattern: string, opts = ''): RegExp {
  const t = translatePcre(pattern, opts);
  return new RegExp(t.source, t.flags);
}

function error(pattern: string, opts = ''): [string, number] {
  try {
    translatePcre(pattern, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(PcreError);
    return [(e as PcreError).message, (e as PcreError).offset];
  }
  throw new Error('no error');
}

describe('translatePcre', () => {
  it('keeps named groups readable through match.groups', () => {
    const m = re('^/(?<app>[a-z]+)/(?P<id>\\d+)$').exec('/blog/42')!;
    expect(m.groups).toEqual({ app: 'blog', id: '42' });
    expect(m[1]).toBe('blog');
  });

  it('handles ~* (caseless) and PCRE-only syntax', () => {
    expect(re('\\.(?:JPG|png)$', 'i').test('/a/b.jpg')).toBe(true);
    expect(re('^/a\\z').test('/a\n')).toBe(false);
    expect(re('^/a$').test('/a\n')).toBe(true);
    expect(re('^/[[:digit:]]++x').test('/12x')).toBe(true);
    expect(re('(?i)^/API/').test('/api/x')).toBe(true);
  });

  it('reports groups, names and the group map', () => {
    const t = translatePcre('(?>(a))(?<x>b)c++(d)', '', { jsNames: false });
    expect(t.captures).toBe(3);
    expect(t.names).toEqual([{ name: 'x', group: 2 }]);
    const m = new RegExp(t.source, t.flags).exec('abccd')!;
    expect([1, 2, 3].map((n) => m[t.groupMap![n]])).toEqual(['a', 'b', 'd']);
  });

  it('throws PcreError with PCRE messages and offsets', () => {
    expect(error('(abc')).toEqual(['missing )', 4]);
    expect(error('ab)')).toEqual(['unmatched parentheses', 2]);
    expect(error('?x')).toEqual(['nothing to repeat', 0]);
    expect(error('[b-a]')).toEqual(['range out of order in character class', 3]);
    expect(error('(?<n>a)(?<n>b)')).toEqual(['two named subpatterns have the same name', 11]);
    expect(translatePcre('(?<n>a)(?<n>b)', 'D').names).toEqual([{ name: 'n', group: 1 }, { name: 'n', group: 2 }]);
  });

  it('uses the JS i flag only when caselessness is uniform', () => {
    expect(translatePcre('abc', 'i').flags).toBe('i');
    expect(translatePcre('a(?i)bc', '').flags).toBe('');
    expect(re('a(?i)bc').test('aBC')).toBe(true);
    expect(re('a(?i)bc').test('ABC')).toBe(false);
  });

  it('UTF mode adds the u flag and works on code points', () => {
    const t = translatePcre('^.\\x{1F600}$', 'u');
    expect(t.flags).toBe('u');
    expect(new RegExp(t.source, t.flags).test('é😀')).toBe(true);
  });
});
