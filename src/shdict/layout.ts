/*
 * Memory layout of a shared dict zone (one SharedArrayBuffer of exactly `capacity` bytes).
 *
 *   [meta 64 B][bucket array: 4 B x nbuckets][block 0 (reserved, = null)][block 1] ... [block N]
 *
 * Why blocks: nginx carves the zone with a slab allocator, so a zone can answer "no memory" while
 * plenty of bytes are free in the wrong size classes (lua-nginx-module #175, #279, #1692). Here
 * every entry is a chain of fixed-size 64-byte blocks taken from one free list; any free block can
 * serve any entry, so the zone never fragments: an insert fits iff its block count <= free blocks.
 * free_space() is exactly `free blocks * 64`. Costs: a 40-byte header per entry, 4 bytes per extra
 * block, and the unused tail of an entry's last block (all counted honestly as used space).
 *
 * Entry (first block; u32 word offsets from the block start):
 *   0 next        next block of this entry's chain (0 = end)
 *   1 hashNext    next entry in the same hash bucket
 *   2 lruPrev     towards the most recently used entry
 *   3 lruNext     towards the least recently used entry
 *   4-5 expires   float64, wall-clock ms; 0 = never; 1 = flushed (any value <= now is expired)
 *   6 hash        FNV-1a of the key bytes
 *   7 flags       user flags (uint32)
 *   8 valueLen    string: byte length; number: 8; boolean: 1; list: number of items
 *   9 keyType     keyLen (low 16 bits) | type << 16
 *   10..15        first 24 data bytes
 * Data stream (continues in the following blocks at byte 4 of each, 60 bytes per block):
 *   string value:          key bytes, then value bytes
 *   number/boolean/list:   an 8-byte slot, then key bytes. The slot sits at byte 40 of the first
 *                          block, 8-aligned, so numbers are read, written and incremented in place
 *                          through a Float64Array; a boolean is slot byte 0; a list keeps its head
 *                          and tail node indices in the slot's two u32 words.
 *
 * List node (its own chain): 0 next, 1 prevNode, 2 nextNode, 3 valueLen, 4 type, 5 unused,
 *   data from byte 24 (a number is an aligned float64 there), continuing in later blocks at byte 4.
 *
 * Meta words (u32 index): see M_* below. Word 0 is the mutex (see lock.ts).
 * Hash buckets: power of two, about one per two blocks, holding the first entry's block index.
 * LRU: doubly linked list of entries, head = most recently used.
 * Free blocks: a singly linked free list plus a bump pointer over never-used blocks, so creating a
 * zone costs no initialisation pass.
 */

export const BLOCK = 64;
export const BLOCK_WORDS = 16;
export const META_BYTES = 64;

/** First data byte of an entry's first block, of a list node's first block, of other blocks. */
export const ENTRY_DATA = 40;
export const NODE_DATA = 24;
export const CONT_DATA = 4;
export const ENTRY_ROOM = BLOCK - ENTRY_DATA; // 24
export const NODE_ROOM = BLOCK - NODE_DATA; // 40
export const CONT_ROOM = BLOCK - CONT_DATA; // 60

// Entry header words.
export const H_NEXT = 0;
export const H_HNEXT = 1;
export const H_PREV = 2;
export const H_LNEXT = 3;
export const H_EXPIRES = 4; // float64 at word 4 (f64 index = word / 2)
export const H_HASH = 6;
export const H_FLAGS = 7;
export const H_VLEN = 8;
export const H_KEYTYPE = 9;
export const H_SLOT = 10; // 8-byte slot (number, boolean, list head/tail)

// List node words.
export const N_PREV = 1;
export const N_NEXT = 2;
export const N_VLEN = 3;
export const N_TYPE = 4;

// Meta words.
export const M_LOCK = 0;
export const M_OWNER = 1;
export const M_MAGIC = 2;
export const M_NBLOCKS = 3;
export const M_FREE_HEAD = 4;
export const M_FREE_COUNT = 5;
export const M_BUMP = 6;
export const M_LRU_HEAD = 7;
export const M_LRU_TAIL = 8;
export const M_MASK = 9;
export const M_BUCKETS = 10; // u32 index of bucket 0
export const M_DATA = 11; // u32 index of block 0
export const M_COUNT = 12;
export const M_CAPACITY = 13;
export const M_EVICTIONS = 14;

export const MAGIC = 0x53484431; // "SHD1"

// Value types: the same numbers as lua-nginx-module (LUA_TNIL, LUA_TBOOLEAN, ...).
export const T_NIL = 0;
export const T_BOOLEAN = 1;
export const T_NUMBER = 3;
export const T_STRING = 4;
export const T_LIST = 5;

export const MAX_KEY_LEN = 65535;
/** nginx refuses `lua_shared_dict` sizes <= 8191 bytes. */
export const MIN_ZONE_SIZE = 8192;
export const MAX_ZONE_SIZE = 0xffffffc0;

/** Number of blocks of an entry (not counting list nodes). */
export function entryBlocks(type: number, keyLen: number, valueLen: number): number {
  const data = type === T_STRING ? keyLen + valueLen : 8 + keyLen;
  return data <= ENTRY_ROOM ? 1 : 1 + Math.ceil((data - ENTRY_ROOM) / CONT_ROOM);
}

/** Number of blocks of a list node holding `valueLen` bytes. */
export function nodeBlocks(valueLen: number): number {
  return valueLen <= NODE_ROOM ? 1 : 1 + Math.ceil((valueLen - NODE_ROOM) / CONT_ROOM);
}

export interface ZoneGeometry {
  nbuckets: number;
  nblocks: number;
  buckets32: number;
  data32: number;
}

/** Splits `capacity` bytes into meta, buckets and blocks (block 0 is the null block). */
export function geometry(capacity: number): ZoneGeometry {
  const approx = Math.floor((capacity - META_BYTES) / BLOCK);
  let nbuckets = 16;
  while (nbuckets * 4 <= approx) nbuckets *= 2; // largest power of two <= approx / 2
  const bucketBytes = nbuckets * 4;
  const nblocks = Math.floor((capacity - META_BYTES - bucketBytes) / BLOCK) - 1;
  return { nbuckets, nblocks, buckets32: META_BYTES / 4, data32: (META_BYTES + bucketBytes) / 4 };
}
