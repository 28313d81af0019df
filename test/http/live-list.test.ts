import { describe, expect, it } from 'vitest';
import { LiveList, type ListMember } from '../../src/http/transport/live-list.js';

const member = (name: string): ListMember & { name: string } => ({ name, listIndex: -1 });

describe('LiveList (the transport connection list)', () => {
  it('adds, deletes by swapping the last member in, and counts', () => {
    const l = new LiveList<ReturnType<typeof member>>();
    const [a, b, c] = [member('a'), member('b'), member('c')];
    l.add(a);
    l.add(b);
    l.add(c);
    expect(l.size).toBe(3);
    expect(l.delete(a)).toBe(true);
    expect(a.listIndex).toBe(-1);
    expect(c.listIndex).toBe(0);
    expect(l.delete(a)).toBe(false);
    expect(l.snapshot().map((x) => x.name)).toEqual(['c', 'b']);
    expect(l.delete(b)).toBe(true);
    expect(l.delete(c)).toBe(true);
    expect(l.size).toBe(0);
  });

  it('does not delete a member of another list that happens to share an index', () => {
    const l1 = new LiveList<ReturnType<typeof member>>();
    const l2 = new LiveList<ReturnType<typeof member>>();
    const a = member('a');
    const b = member('b');
    l1.add(a);
    l2.add(b);
    expect(l1.delete(b)).toBe(false);
    expect(l1.size).toBe(1);
  });

  it('visits every member once while visited members delete themselves', () => {
    const l = new LiveList<ReturnType<typeof member>>();
    const all = 'abcdefg'.split('').map(member);
    for (const m of all) l.add(m);
    const seen: string[] = [];
    l.forEach((m) => {
      seen.push(m.name);
      if (m.name !== 'c') l.delete(m);
    });
    expect(seen.sort()).toEqual(all.map((m) => m.name));
    expect(l.snapshot().map((m) => m.name)).toEqual(['c']);
  });
});
