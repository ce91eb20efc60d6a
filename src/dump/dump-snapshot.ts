import type { UnixSeconds } from "../core/time.ts";
import type { CrateOwnerAddition } from "../core/trust-signals.ts";
import type { DumpCrateView, DumpView } from "../store/dump-merge.ts";
import { type PackedStrings, StringColumn, StringLog } from "./string-column.ts";

/**
 * What one dump says, held compactly until it is applied in one transaction: 3 million version rows in typed-array
 * columns (~50 MB, against ~300 MB as JS objects) and the crates' lowercased names as bytes. Nothing per row lives on the JS
 * heap while the archive streams: the zlib output buffers trigger a full GC every ~64 MB, and each one would otherwise
 * walk hundreds of thousands of strings. Rows are grouped by crate once reading is done (versions.csv is in publish
 * order), and their columns rewritten in that order, so a crate's rows lie side by side; `crates()` then visits crates
 * in name order, so inserts land in primary-key order.
 */
export class DumpSnapshot implements DumpView {
  /** metadata.json's `timestamp`. */
  watermark: UnixSeconds = NaN;
  readonly deletedCrates = new Map<string, UnixSeconds>();
  /** Version rows read (orphans included). */
  versionRows = 0;
  yankedRows = 0;
  /** Version rows whose crate_id is not in crates.csv (skipped); known once grouped. */
  orphanRows = 0;
  cratesRead = 0;
  deletedRows = 0;

  // crates.csv, in file order.
  private readonly crateIds: number[] = [];
  private readonly crateNames = new StringColumn();

  // versions.csv, in file order, in blocks of BLOCK rows (no doubling copies, no slack beyond one block).
  private readonly crateIdBlocks: Int32Array[] = [];
  /** versions.csv `created_at` (as uint32) and `published_by` (a users.csv id, or -1 when empty), side by side. */
  private readonly timeAndPublisherBlocks: Int32Array[] = [];
  private readonly versions = new StringLog();

  // users.csv and teams.csv: id → login, looked up when the crates are merged (the tables may come in any order).
  private readonly userLogins = new Map<number, string>();
  private readonly teamLogins = new Map<number, string>();
  // crate_owners.csv, in file order (a few hundred thousand rows), in typed arrays grown by doubling.
  private ownerCrateIds = new Int32Array(1024);
  private ownerIds = new Int32Array(1024);
  private ownerAddedAt = new Uint32Array(1024);
  /** 1 when the owner is a team (teams.csv), 0 for a user. */
  private ownerIsTeam = new Uint8Array(1024);
  ownerRows = 0;
  accountRows = 0;

  /** Digest lanes summed per crate_id while reading: the row's bytes are in cache then, and nothing per row is kept. */
  private digestHigh: Uint32Array = new Uint32Array(1024);
  private digestLow: Uint32Array = new Uint32Array(1024);
  private readonly digestOfLargeId = new Map<number, [number, number]>();

  private grouping: Grouping | null = null;

  /** The database's digest key (`digestSeedOf`): row hashes are computed as rows arrive. */
  constructor(readonly digestSeed: number) {}

  /** Records one crate; its name is stored lowercased, as the index path and the database spell it. */
  addCrate(id: number, name: Uint8Array, start: number, end: number): void {
    this.crateIds.push(id);
    let plain = true;
    for (let k = start; k < end; k++) {
      const byte = name[k] as number;
      if (byte >= 0x41 && byte <= 0x5a) plain = false;
      else if (byte > 0x7f) plain = false;
    }
    if (plain) {
      this.crateNames.push(name, start, end);
    } else {
      // Rare (crates.io names are ASCII; most are lowercase already): lowercase as JS does, the way records are keyed.
      const lowered = Buffer.from(
        Buffer.from(name.buffer, name.byteOffset + start, end - start)
          .toString("utf8")
          .toLowerCase(),
        "utf8",
      );
      this.crateNames.push(lowered, 0, lowered.length);
    }
    this.cratesRead++;
  }

  /** Records one version row. `publishedAt` is whole seconds in [0, 2^32) (the table readers check). */
  addVersion(
    crateId: number,
    version: Uint8Array,
    start: number,
    end: number,
    publishedAt: UnixSeconds,
    yanked: boolean,
    publishedBy = -1,
  ): void {
    const row = this.versionRows++;
    const slot = row & BLOCK_MASK;
    if (slot === 0) {
      this.crateIdBlocks.push(new Int32Array(BLOCK));
      this.timeAndPublisherBlocks.push(new Int32Array(2 * BLOCK));
    }
    (this.crateIdBlocks[row >>> BLOCK_BITS] as Int32Array)[slot] = crateId;
    const pairs = this.timeAndPublisherBlocks[row >>> BLOCK_BITS] as Int32Array;
    pairs[2 * slot] = publishedAt;
    pairs[2 * slot + 1] = publishedBy;
    this.versions.push(version, start, end);
    if (yanked) this.yankedRows++;

    // A keyed FNV-style hash of the version bytes, mixed with the time, in two lanes (32 and 20 bits).
    let a = this.digestSeed ^ 0x811c9dc5;
    let b = Math.imul(this.digestSeed, 0x9e3779b1) ^ 0x27d4eb2f;
    for (let k = start; k < end; k++) {
      const byte = version[k] as number;
      a = Math.imul(a ^ byte, 0x01000193);
      b = Math.imul(b ^ byte, 0x85ebca6b);
    }
    this.addToDigest(
      crateId,
      fmix32(a ^ publishedAt ^ (end - start) ^ Math.imul(publishedBy, 0x27d4eb2f)) >>> 0,
      fmix32(b ^ Math.imul(publishedAt, 0xcc9e2d51) ^ publishedBy) >>> 12,
    );
  }

  /** One users.csv or teams.csv row. */
  addAccount(kind: "user" | "team", id: number, login: string): void {
    this.accountRows++;
    (kind === "user" ? this.userLogins : this.teamLogins).set(id, login);
  }

  /** One crate_owners.csv row; it counts in its crate's digest, so a change of owners re-merges the crate. */
  addOwner(crateId: number, ownerId: number, isTeam: boolean, addedAt: UnixSeconds): void {
    const k = this.ownerRows++;
    if (k === this.ownerIds.length) {
      this.ownerCrateIds = grownTo(this.ownerCrateIds, new Int32Array(k * 2));
      this.ownerIds = grownTo(this.ownerIds, new Int32Array(k * 2));
      this.ownerAddedAt = grownTo(this.ownerAddedAt, new Uint32Array(k * 2));
      this.ownerIsTeam = grownTo(this.ownerIsTeam, new Uint8Array(k * 2));
    }
    this.ownerCrateIds[k] = crateId;
    this.ownerIds[k] = ownerId;
    this.ownerAddedAt[k] = addedAt;
    this.ownerIsTeam[k] = isTeam ? 1 : 0;
    const h = fmix32((this.digestSeed ^ 0x6f776e72) + Math.imul(ownerId, 0x9e3779b1) + (isTeam ? 0x5bd1e995 : 0));
    this.addToDigest(crateId, fmix32(h ^ addedAt) >>> 0, fmix32(Math.imul(h, 0x85ebca6b) ^ addedAt) >>> 12);
  }

  /** users.csv as `[id, login]`. */
  accounts(): Iterable<[number, string]> {
    return this.userLogins.entries();
  }

  /** The owners of crate `index` with the time each was added; a team by its login (`github:org:team`). */
  ownersOf(index: number): CrateOwnerAddition[] {
    const { ownerOrder, ownerStart } = this.group();
    const owners: CrateOwnerAddition[] = [];
    for (let j = ownerStart[index] as number; j < (ownerStart[index + 1] as number); j++) {
      const k = ownerOrder[j] as number;
      const id = this.ownerIds[k] as number;
      const owner =
        this.ownerIsTeam[k] === 1 ? (this.teamLogins.get(id) ?? `team #${id}`) : (this.userLogins.get(id) ?? `#${id}`);
      owners.push({ owner, addedAt: this.ownerAddedAt[k] as number });
    }
    return owners;
  }

  addDeletedCrate(name: string, deletedAt: UnixSeconds): void {
    this.deletedRows++;
    const lower = name.toLowerCase();
    const known = this.deletedCrates.get(lower);
    // Every version published before the latest deletion belonged to a deleted incarnation.
    if (known === undefined || deletedAt > known) this.deletedCrates.set(lower, deletedAt);
  }

  /** Distinct crates (by lowercased name) in crates.csv. */
  get crateCount(): number {
    return this.group().nameRows.length;
  }

  indexOf(crate: string): number {
    return this.findName(crate);
  }

  hasVersionsOf(crate: string): boolean {
    const { groupStart } = this.group();
    const index = this.findName(crate);
    return index >= 0 && (groupStart[index + 1] as number) > (groupStart[index] as number);
  }

  /** Each crate with versions, in ascending name order, through one reused cursor (valid until the next step). */
  *crates(): IterableIterator<DumpCrateView> {
    const grouping = this.group();
    const cursor = new CrateCursor(this, grouping);
    for (let index = 0; index < grouping.nameRows.length; index++) {
      const from = grouping.groupStart[index] as number;
      const to = grouping.groupStart[index + 1] as number;
      if (from === to) continue;
      cursor.moveTo(index, this.nameOf(index), from, to);
      yield cursor;
    }
  }

  /** The digest of crate `index`'s rows: the two lanes summed over its crate ids, as one 52-bit safe integer. */
  digestOf(index: number): number {
    const { firstId, moreIds } = this.group();
    let high = 0;
    let low = 0;
    const first = firstId[index] as number;
    const more = moreIds.get(index);
    for (let k = -1; k < (more === undefined ? 0 : more.length); k++) {
      const id = k < 0 ? first : ((more as readonly number[])[k] as number);
      if (id < this.digestHigh.length) {
        high = (high + (this.digestHigh[id] as number)) >>> 0;
        low = (low + (this.digestLow[id] as number)) & LOW_MASK;
      } else {
        const lanes = this.digestOfLargeId.get(id);
        if (lanes === undefined) continue;
        high = (high + lanes[0]) >>> 0;
        low = (low + lanes[1]) & LOW_MASK;
      }
    }
    return high * (LOW_MASK + 1) + low;
  }

  private addToDigest(crateId: number, high: number, low: number): void {
    if (crateId >= DENSE_IDS_MAX) {
      const lanes = this.digestOfLargeId.get(crateId) ?? [0, 0];
      lanes[0] = (lanes[0] + high) >>> 0;
      lanes[1] = (lanes[1] + low) & LOW_MASK;
      this.digestOfLargeId.set(crateId, lanes);
      return;
    }
    if (crateId >= this.digestHigh.length) {
      const size = Math.max(crateId + 1, this.digestHigh.length * 2);
      this.digestHigh = grown(this.digestHigh, size);
      this.digestLow = grown(this.digestLow, size);
    }
    // Sums wrap: the Uint32Array store is modulo 2^32, the mask modulo 2^20.
    this.digestHigh[crateId] = (this.digestHigh[crateId] as number) + high;
    this.digestLow[crateId] = ((this.digestLow[crateId] as number) + low) & LOW_MASK;
  }

  private group(): Grouping {
    if (this.grouping !== null) return this.grouping;
    // Crate index = rank of the (lowercased) name, compared as bytes where they are stored: crates are visited in key
    // order and found by binary search, and no 250,000 name strings sit on the heap. A name spelled twice (in
    // different cases) still makes one crate.
    const names = this.crateNames;
    const byName = Uint32Array.from(this.crateIds, (_, k) => k).sort((x, y) => names.compareEntries(x, y));
    const nameRows: number[] = [];
    const firstId: number[] = [];
    const moreIds = new Map<number, number[]>();
    const indexOfId = new Int32Array(denseLimit(this.crateIds)).fill(-1);
    const indexOfLargeId = new Map<number, number>();
    for (const k of byName) {
      const id = this.crateIds[k] as number;
      const last = nameRows.length - 1;
      if (last < 0 || names.compareEntries(nameRows[last] as number, k) !== 0) {
        nameRows.push(k);
        firstId.push(id);
      } else {
        moreIds.set(last, [...(moreIds.get(last) ?? []), id]);
      }
      if (id < indexOfId.length) indexOfId[id] = nameRows.length - 1;
      else indexOfLargeId.set(id, nameRows.length - 1);
    }
    // Counting sort of the rows by crate: the first pass writes each row's crate index (-1: an orphan) over its
    // crate_id and counts, the versions then move to their crates, and the second pass writes each row's place in
    // crate order over its index (orphans go last). Times and publishers then move there in place: no second copy.
    const crates = nameRows.length;
    const rows = this.versionRows;
    const rowsOf = this.crateIdBlocks;
    const counts = new Uint32Array(crates + 1);
    let orphans = 0;
    for (let row = 0; row < rows; row++) {
      const block = rowsOf[row >>> BLOCK_BITS] as Int32Array;
      const id = block[row & BLOCK_MASK] as number;
      const index = id >= 0 && id < indexOfId.length ? (indexOfId[id] as number) : (indexOfLargeId.get(id) ?? -1);
      block[row & BLOCK_MASK] = index;
      if (index < 0) orphans++;
      else counts[index + 1] = (counts[index + 1] as number) + 1;
    }
    this.orphanRows = orphans;
    const groupStart = new Uint32Array(crates + 1);
    for (let g = 0; g < crates; g++) groupStart[g + 1] = (groupStart[g] as number) + (counts[g + 1] as number);
    const versions = this.versions.group(rowsOf, crates);
    const next = groupStart.slice(0, crates);
    let nextOrphan = rows - orphans;
    for (let row = 0; row < rows; row++) {
      const block = rowsOf[row >>> BLOCK_BITS] as Int32Array;
      const index = block[row & BLOCK_MASK] as number;
      let at: number;
      if (index < 0) {
        at = nextOrphan++;
      } else {
        at = next[index] as number;
        next[index] = at + 1;
      }
      block[row & BLOCK_MASK] = at;
    }
    permuteInPlace(rows, rowsOf, this.timeAndPublisherBlocks);
    this.crateIdBlocks.length = 0;
    // The owners, grouped by crate the same way (owners of crates not in crates.csv are dropped).
    const ownerIndex = (k: number): number => {
      const id = this.ownerCrateIds[k] as number;
      return id >= 0 && id < indexOfId.length ? (indexOfId[id] as number) : (indexOfLargeId.get(id) ?? -1);
    };
    const ownerStart = new Uint32Array(crates + 1);
    for (let k = 0; k < this.ownerRows; k++) {
      const index = ownerIndex(k);
      if (index >= 0) ownerStart[index + 1] = (ownerStart[index + 1] as number) + 1;
    }
    for (let g = 0; g < crates; g++) ownerStart[g + 1] = (ownerStart[g + 1] as number) + (ownerStart[g] as number);
    const ownerNext = ownerStart.slice(0, crates);
    const ownerOrder = new Uint32Array(ownerStart[crates] as number);
    for (let k = 0; k < this.ownerRows; k++) {
      const index = ownerIndex(k);
      if (index < 0) continue;
      const at = ownerNext[index] as number;
      ownerOrder[at] = k;
      ownerNext[index] = at + 1;
    }
    this.ownerCrateIds = new Int32Array(0);
    this.grouping = {
      nameRows: Uint32Array.from(nameRows),
      groupStart,
      timeAndPublisher: this.timeAndPublisherBlocks,
      versions,
      firstId,
      moreIds,
      ownerOrder,
      ownerStart,
    };
    return this.grouping;
  }

  /** The lowercased name of crate `index`. */
  private nameOf(index: number): string {
    return this.crateNames.text(this.group().nameRows[index] as number);
  }

  /** Binary search in the sorted names. */
  private findName(crate: string): number {
    const { nameRows } = this.group();
    let low = 0;
    let high = nameRows.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const order = this.crateNames.compareWithText(nameRows[middle] as number, crate);
      if (order === 0) return middle;
      if (order < 0) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }
}

interface Grouping {
  /** Crate index → its row in crates.csv (whose stored name is the crate's); ascending by name. */
  readonly nameRows: Uint32Array;
  /** Version rows grouped by crate index, in crate order: crate k's rows are groupStart[k] … groupStart[k+1]. */
  readonly groupStart: Uint32Array;
  /** The rows' created_at (as uint32) and published_by (-1: none) side by side in that order, in blocks of BLOCK
   * rows; their num by crate index. */
  readonly timeAndPublisher: readonly Int32Array[];
  readonly versions: PackedStrings;
  /** Each crate's crate_id; a name spelled twice in crates.csv (in different cases) has its other ids aside. */
  readonly firstId: readonly number[];
  readonly moreIds: ReadonlyMap<number, readonly number[]>;
  /** crate_owners.csv rows grouped by crate index: crate k's are ownerOrder[ownerStart[k] … ownerStart[k+1]). */
  readonly ownerOrder: Uint32Array;
  readonly ownerStart: Uint32Array;
}

const BLOCK_BITS = 16;
const BLOCK = 1 << BLOCK_BITS;
const BLOCK_MASK = BLOCK - 1;
/** crate_ids are dense serials; a dense index up to this size, a Map beyond (a dump never has such ids). */
const DENSE_IDS_MAX = 1 << 26;
const LOW_MASK = 0xfffff;

function denseLimit(ids: readonly number[]): number {
  let max = -1;
  for (const id of ids) if (id < DENSE_IDS_MAX && id > max) max = id;
  return max + 1;
}

/**
 * Moves row r's pair (time, publisher) to row `destinations[r]` (a permutation of 0 … rows − 1, both in blocks of BLOCK
 * rows), in place: each cycle of the permutation is followed once, carrying one pair along; a row moved is marked by
 * flipping the bits of its destination (the destinations are spent afterwards).
 */
function permuteInPlace(rows: number, destinations: readonly Int32Array[], pairs: readonly Int32Array[]): void {
  for (let start = 0; start < rows; start++) {
    const startBlock = destinations[start >>> BLOCK_BITS] as Int32Array;
    const startSlot = start & BLOCK_MASK;
    let to = startBlock[startSlot] as number;
    if (to < 0) continue;
    startBlock[startSlot] = ~to;
    const startPairs = pairs[start >>> BLOCK_BITS] as Int32Array;
    let time = startPairs[2 * startSlot] as number;
    let id = startPairs[2 * startSlot + 1] as number;
    while (to !== start) {
      const slot = to & BLOCK_MASK;
      const pairBlock = pairs[to >>> BLOCK_BITS] as Int32Array;
      const nextTime = pairBlock[2 * slot] as number;
      const nextId = pairBlock[2 * slot + 1] as number;
      pairBlock[2 * slot] = time;
      pairBlock[2 * slot + 1] = id;
      time = nextTime;
      id = nextId;
      const destinationBlock = destinations[to >>> BLOCK_BITS] as Int32Array;
      const next = destinationBlock[slot] as number;
      destinationBlock[slot] = ~next;
      to = next;
    }
    startPairs[2 * startSlot] = time;
    startPairs[2 * startSlot + 1] = id;
  }
}

function grownTo<T extends Int32Array | Uint32Array | Uint8Array>(array: T, next: T): T {
  next.set(array);
  return next;
}

function grown(array: Uint32Array, size: number): Uint32Array {
  const next = new Uint32Array(size);
  next.set(array);
  return next;
}

class CrateCursor implements DumpCrateView {
  crate = "";
  index = 0;
  private from = 0;
  private to = 0;

  constructor(
    private readonly snapshot: DumpSnapshot,
    private readonly grouping: Grouping,
  ) {}

  moveTo(index: number, crate: string, from: number, to: number): void {
    this.index = index;
    this.crate = crate;
    this.from = from;
    this.to = to;
  }

  get versionCount(): number {
    return this.to - this.from;
  }

  digest(): number {
    return this.snapshot.digestOf(this.index);
  }

  forEachVersion(visit: (version: string, publishedAt: UnixSeconds, publishedBy: number) => void): void {
    const { timeAndPublisher } = this.grouping;
    const from = this.from;
    this.grouping.versions.forEachInGroup(this.index, (version, position) => {
      const k = from + position;
      const pairs = timeAndPublisher[k >>> BLOCK_BITS] as Int32Array;
      const slot = k & BLOCK_MASK;
      visit(version, (pairs[2 * slot] as number) >>> 0, pairs[2 * slot + 1] as number);
    });
  }

  owners(): CrateOwnerAddition[] {
    return this.snapshot.ownersOf(this.index);
  }
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
