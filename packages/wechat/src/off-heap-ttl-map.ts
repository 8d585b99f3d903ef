/** A record: key (16 bytes), expiry (float64, ms), value length (uint32), value (UTF-8). */
const KEY_BYTES = 16;
const EXPIRES_AT = KEY_BYTES;
const VALUE_LENGTH = EXPIRES_AT + 8;
const HEADER_BYTES = VALUE_LENGTH + 4;
const INITIAL_SLOTS = 1024;

export interface OffHeapTtlMapOptions {
  /** How long an entry lives after it was set; the same for every entry. */
  ttlMs: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** The size of each buffer the entries are appended to. Default 4 MiB. */
  segmentBytes?: number;
  /** Past this many bytes of buffers, the oldest are dropped early. Default 256 MiB. */
  maxBytes?: number;
}

/**
 * A map from digests to short strings, each entry forgotten `ttlMs` after it was set, held outside
 * the JS heap. The code memo keeps an outcome for every login code of the last 5 minutes here:
 * some 300 000 at 1000 logins/s. As strings and objects in a Map they took about 530 bytes of JS
 * heap each, and every major garbage collection marked all of them (a full collection with
 * 100 000 of them took 40 ms instead of 6); here they take none.
 *
 * A key is the first 16 bytes of a digest (SHA-256, so they are uniformly spread). Entries are
 * appended to fixed-size buffers (segments), each with its own open-addressing index; since every
 * entry lives equally long, a segment expires whole once its newest entry has, and is dropped.
 * Setting a key again shadows the earlier entry. A value too big for a segment is not kept.
 */
export class OffHeapTtlMap {
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly segmentBytes: number;
  private readonly maxSegments: number;
  /** Oldest first. */
  private readonly segments: Segment[] = [];

  constructor(options: OffHeapTtlMapOptions) {
    this.ttlMs = options.ttlMs;
    this.now = options.now ?? Date.now;
    this.segmentBytes = options.segmentBytes ?? 4 * 1024 * 1024;
    this.maxSegments = Math.max(
      1,
      Math.floor((options.maxBytes ?? 256 * 1024 * 1024) / this.segmentBytes),
    );
  }

  get(digest: Buffer): string | undefined {
    const now = this.now();
    this.dropExpired(now);
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const found = this.segments[i]!.get(digest, now);
      if (found !== NOT_HERE) return found;
    }
    return undefined;
  }

  set(digest: Buffer, value: string): void {
    const now = this.now();
    this.dropExpired(now);
    const valueBytes = Buffer.byteLength(value);
    if (HEADER_BYTES + valueBytes > this.segmentBytes) return;
    let segment = this.segments.at(-1);
    if (!segment || !segment.fits(valueBytes)) {
      segment = new Segment(this.segmentBytes);
      this.segments.push(segment);
      if (this.segments.length > this.maxSegments) this.segments.shift();
    }
    segment.append(digest, now + this.ttlMs, value, valueBytes);
  }

  /** Bytes of buffers held, indexes included; for tests and diagnostics. */
  get byteLength(): number {
    return this.segments.reduce((sum, segment) => sum + segment.byteLength, 0);
  }

  private dropExpired(now: number): void {
    while (this.segments.length > 0 && this.segments[0]!.expiresAt <= now) this.segments.shift();
  }
}

/** `Segment.get`'s answer when the key has no entry in that segment: look in older ones. */
const NOT_HERE = Symbol("not here");

class Segment {
  /** When the newest entry expires, and with it the whole segment. */
  expiresAt = 0;
  private readonly data: Buffer;
  private used = 0;
  private count = 0;
  /** Open addressing, linear probing: each slot holds a record's offset plus one, or 0 (empty). */
  private slots = new Int32Array(INITIAL_SLOTS);

  constructor(bytes: number) {
    // Outside Node's shared pool: the segment is dropped whole, and takes nothing else with it.
    this.data = Buffer.allocUnsafeSlow(bytes);
  }

  get byteLength(): number {
    return this.data.byteLength + this.slots.byteLength;
  }

  fits(valueBytes: number): boolean {
    return this.used + HEADER_BYTES + valueBytes <= this.data.byteLength;
  }

  /** The value, undefined if the entry has expired, or NOT_HERE. */
  get(digest: Buffer, now: number): string | undefined | typeof NOT_HERE {
    const slot = this.slotOf(digest);
    const offset = this.slots[slot]! - 1;
    if (offset < 0) return NOT_HERE;
    if (this.data.readDoubleLE(offset + EXPIRES_AT) <= now) return undefined;
    const start = offset + HEADER_BYTES;
    return this.data.toString("utf8", start, start + this.data.readUInt32LE(offset + VALUE_LENGTH));
  }

  append(digest: Buffer, expiresAt: number, value: string, valueBytes: number): void {
    if ((this.count + 1) * 2 > this.slots.length) this.growIndex();
    const offset = this.used;
    digest.copy(this.data, offset, 0, KEY_BYTES);
    this.data.writeDoubleLE(expiresAt, offset + EXPIRES_AT);
    this.data.writeUInt32LE(valueBytes, offset + VALUE_LENGTH);
    this.data.write(value, offset + HEADER_BYTES, valueBytes, "utf8");
    this.used = offset + HEADER_BYTES + valueBytes;
    this.expiresAt = Math.max(this.expiresAt, expiresAt);
    const slot = this.slotOf(digest);
    if (this.slots[slot] === 0) this.count++;
    this.slots[slot] = offset + 1;
  }

  /** The slot holding `digest`'s record, or the empty slot where it would go. */
  private slotOf(digest: Buffer): number {
    const mask = this.slots.length - 1;
    for (let slot = digest.readUInt32LE(0) & mask; ; slot = (slot + 1) & mask) {
      const offset = this.slots[slot]! - 1;
      if (offset < 0 || digest.compare(this.data, offset, offset + KEY_BYTES, 0, KEY_BYTES) === 0) {
        return slot;
      }
    }
  }

  private growIndex(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    const mask = this.slots.length - 1;
    for (const stored of old) {
      if (stored === 0) continue;
      let slot = this.data.readUInt32LE(stored - 1) & mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = stored;
    }
  }
}
