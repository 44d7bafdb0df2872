'use strict';
// Corrections to s3rver 3.7.1 so that it behaves as S3 does where s3mig depends on it
// (../../shared/reference/test-server.md). Applied in the server's child process (s3rver-child.cjs)
// before the server starts; everything not named here is s3rver's own behaviour.
//
// 1. Listing (FilesystemStore#listObjects, bucket controller getBucket):
//    - keys in UTF-8 byte order (Buffer.compare), never file-name or UTF-16 order;
//    - StartAfter, markers and continuation tokens compared on UTF-8 bytes;
//    - with a delimiter, CommonPrefixes come from the keys (a "directory" holding only
//      sub-directories yields its prefix), interleaved with Contents in byte order, and MaxKeys,
//      KeyCount, truncation and the continuation token count and follow both, as S3 does
//      (a continuation that ends on a common prefix steps over that whole prefix; a caller's own
//      StartAfter inside a prefix still gets the prefix);
//    - a per-bucket sorted key index (built once per bucket by one walk, then kept in step with
//      every put, copy, delete, multipart completion, bucket delete and reset), a binary search for
//      the page start;
//    - with it, per key, what a listing shows of the object (size, ETag, last-modified; the storage
//      class is always STANDARD): read from disk (synchronously) the first time the key is listed,
//      then kept until a write to the key (put, copy onto it, delete, multipart completion) or the
//      index itself (bucket created or deleted, reset, failed multipart completion) is dropped, so a
//      warm page reads nothing from disk and does not hold up s3rver's event loop;
//    - the ListBucketResult rendered to XML here, as s3rver's fast-xml-parser would, at a third of
//      the cost.
// 2. CopyObject: x-amz-copy-source decoded with decodeURIComponent (after an optional
//    ?versionId=...), so source keys with + & = ? # , ; : @ $ % and the like are found.
// 3. Object metadata (FilesystemStore#getMetadata, hence GET Object, HEAD Object, CopyObject's result):
//    per bucket and key, everything getMetadata returns (metadata.json's headers: content-type,
//    content-encoding, cache-control, content-disposition, content-language, expires,
//    x-amz-storage-class, x-amz-website-redirect-location, x-amz-meta-*; and etag, last-modified,
//    content-length) kept in memory from the first read until a write drops it, at exactly the points
//    that drop the listing cache: the key by a put, a copy onto it, a delete, each key of a
//    multi-delete, a multipart completion; the whole bucket when it is created or deleted, on reset,
//    on a failed multipart completion. A read that a write overlapped is not kept, and while a write
//    to the key is in progress its metadata is read from disk (so CopyObject's result, read by s3rver
//    before the copy has ended, is the copy's, not the cached overwritten object's). HEAD Object answers
//    from it without opening (and at once destroying) a read stream of the object, as s3rver's GET
//    handler does for a HEAD.
// 4. What every object request asks of its bucket, cached the same way: whether it exists (and its
//    creation date; FilesystemStore#getBucket), and its own cors and website configurations
//    (getSubresource with no key, read by s3rver's cors and website middleware), dropped when the
//    configuration is put or deleted and with the rest of the bucket's caches. A test server's
//    directory is only ever written through S3 (.bench directories are seeded before it starts).
// 5. CopyObject with MetadataDirective REPLACE from another key: the copy's ETag is its body's MD5
//    (s3rver kept the destination's old .md5, so HEAD, GET, listings and CopyObjectResult showed the
//    overwritten body's ETag).
// 6. DeleteObject and DeleteObjects: removing a key's emptied folders tolerates a sibling's delete
//    having removed one first (a multi-delete of keys in one folder failed with a 500).
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const FilesystemStore = require('s3rver/lib/stores/filesystem');
const bucketCtrl = require('s3rver/lib/controllers/bucket');
const objectCtrl = require('s3rver/lib/controllers/object');
const S3Error = require('s3rver/lib/models/error');
const S3Object = require('s3rver/lib/models/object');
const S3Bucket = require('s3rver/lib/models/bucket');
const { getConfigModel } = require('s3rver/lib/models/config');
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');
const { capitalizeHeader } = require('s3rver/lib/utils');

const OBJECT_SUFFIX = '._S3rver_object';
const UPLOADS_DIR = '._S3rver_uploads';
const PATCHED = Symbol.for('s3mig.s3rverPatched');

// ---------------------------------------------------------------------------------------------
// Byte-ordered key index
// ---------------------------------------------------------------------------------------------

const utf8 = (s) => Buffer.from(s, 'utf8');

/** First index whose key is >= target (bytes). */
function lowerBound(bufs, target, from = 0) {
  let lo = from;
  let hi = bufs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(bufs[mid], target) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is > target (bytes). */
function upperBound(bufs, target, from = 0) {
  let lo = from;
  let hi = bufs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(bufs[mid], target) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function bufStartsWith(buf, prefix) {
  return buf.length >= prefix.length && buf.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

/** First index at or after `from` whose key does not start with `prefix` (keys from `from` that do are contiguous). */
function endOfPrefixRun(bufs, prefix, from) {
  let lo = from;
  let hi = bufs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bufStartsWith(bufs[mid], prefix)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const byBytes = (a, b) => Buffer.compare(a.buf, b.buf);

/**
 * A bucket's keys in byte order. Writes only note the key's new state (O(1), so a bulk load into a
 * listed bucket costs nothing per put); the next listing folds the notes in: a few by splicing, many
 * by one merge.
 *
 * `listed` caches, per key, what its listing entry shows (a ListedMeta), filled lazily by the listing
 * that first needs it; noting a write to a key drops the key's entry at once, so the next listing
 * reads it again from disk.
 */
class KeyIndex {
  constructor(keys) {
    const entries = keys.map((key) => ({ key, buf: utf8(key) }));
    entries.sort(byBytes);
    this.keys = entries.map((e) => e.key);
    this.bufs = entries.map((e) => e.buf);
    this.pending = new Map(); // key -> present on disk after the latest write
    this.listed = new Map(); // key -> ListedMeta
    this.times = new Map(); // mtime in ms (whole seconds) -> its ISO string, one string per second
  }

  note(key, present) {
    this.pending.set(key, present);
    this.listed.delete(key);
  }

  /** Applies the noted writes; then keys/bufs are current. */
  flush() {
    if (this.pending.size === 0) return this;
    const adds = [];
    const removes = new Set();
    for (const [key, present] of this.pending) {
      if (present) adds.push({ key, buf: utf8(key) });
      else removes.add(key);
    }
    this.pending.clear();
    if (adds.length + removes.size <= 64) {
      for (const { key, buf } of adds) this.insert(key, buf);
      for (const key of removes) this.delete(key);
      return this;
    }
    adds.sort(byBytes);
    const keys = [];
    const bufs = [];
    let j = 0;
    for (let i = 0; i < this.keys.length; i++) {
      const buf = this.bufs[i];
      while (j < adds.length && Buffer.compare(adds[j].buf, buf) < 0) {
        keys.push(adds[j].key);
        bufs.push(adds[j].buf);
        j++;
      }
      if (j < adds.length && adds[j].buf.equals(buf)) j++; // overwritten: already listed
      if (!removes.has(this.keys[i])) {
        keys.push(this.keys[i]);
        bufs.push(buf);
      }
    }
    for (; j < adds.length; j++) {
      keys.push(adds[j].key);
      bufs.push(adds[j].buf);
    }
    this.keys = keys;
    this.bufs = bufs;
    return this;
  }

  insert(key, buf = utf8(key)) {
    const i = lowerBound(this.bufs, buf);
    if (i < this.bufs.length && this.bufs[i].equals(buf)) return;
    this.keys.splice(i, 0, key);
    this.bufs.splice(i, 0, buf);
  }

  delete(key) {
    const buf = utf8(key);
    const i = lowerBound(this.bufs, buf);
    if (i < this.bufs.length && this.bufs[i].equals(buf)) {
      this.keys.splice(i, 1);
      this.bufs.splice(i, 1);
    }
  }
}

/** All keys stored under a bucket directory: one walk, no stat per file. */
function scanBucket(bucketPath) {
  const keys = [];
  const walk = (dir, rel) => {
    let dirents;
    try {
      dirents = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return;
      throw err;
    }
    for (const d of dirents) {
      if (d.isDirectory()) {
        if (rel === '' && d.name === UPLOADS_DIR) continue; // multipart uploads in progress
        walk(path.join(dir, d.name), rel + d.name + '/');
      } else if (d.name.endsWith(OBJECT_SUFFIX)) {
        keys.push(FilesystemStore.decodeKeyPath(rel + d.name.slice(0, -OBJECT_SUFFIX.length)));
      }
    }
  };
  walk(bucketPath, '');
  return keys;
}

const indexes = new WeakMap(); // store -> Map(bucket -> KeyIndex)

function bucketIndexes(store) {
  let m = indexes.get(store);
  if (!m) indexes.set(store, (m = new Map()));
  return m;
}

function getIndex(store, bucket) {
  const m = bucketIndexes(store);
  let index = m.get(bucket);
  if (!index) {
    index = new KeyIndex(scanBucket(store.getBucketPath(bucket)));
    m.set(bucket, index);
  }
  return index.flush();
}

/**
 * Bring one key of an existing index in line with the disk, and drop its cached object metadata
 * (after a put, copy or delete, done or failed).
 */
function syncKey(store, bucket, key) {
  dropObjectMeta(store, bucket, key);
  const index = bucketIndexes(store).get(bucket);
  if (!index || typeof key !== 'string') return;
  index.note(key, fs.existsSync(store.getResourcePath(bucket, key, 'object')));
}

/** Drop a bucket's key index and cached object metadata (all buckets' when bucket is undefined). */
function dropIndex(store, bucket) {
  dropBucketMeta(store, bucket);
  if (bucket === undefined) indexes.delete(store);
  else bucketIndexes(store).delete(bucket);
}

// ---------------------------------------------------------------------------------------------
// Object metadata and bucket caches
// ---------------------------------------------------------------------------------------------

/** Entries of one FillCache beyond which it starts over (a bound on memory, no more). */
const MAX_CACHED_ENTRIES = 200000;

/**
 * Values read from disk, kept per name until dropped. `filling` holds a token per name being read;
 * dropping the name removes it, so a read that a write overlapped (wholly or in part) is not kept:
 * a write drops the name once all of its files are written, so whatever is cached after that was read
 * after that.
 */
class FillCache {
  constructor() {
    this.entries = new Map(); // name -> value (null for "absent" where the reader says so)
    this.filling = new Map(); // name -> token of the latest read from disk
  }

  /** The cached value of `name`, else read() (kept unless the name was dropped meanwhile). */
  async get(name, read) {
    const hit = this.entries.get(name);
    if (hit !== undefined) return hit;
    const token = {};
    this.filling.set(name, token);
    let value;
    try {
      value = await read();
    } catch (err) {
      if (this.filling.get(name) === token) this.filling.delete(name);
      throw err;
    }
    if (this.filling.get(name) === token) {
      this.filling.delete(name);
      this.set(name, value);
    }
    return value;
  }

  /** Keep a value read with no await since the read began (so no drop can have come in between). */
  set(name, value) {
    if (this.entries.size >= MAX_CACHED_ENTRIES) this.entries.clear();
    this.entries.set(name, value);
  }

  drop(name) {
    this.entries.delete(name);
    this.filling.delete(name);
  }
}

/**
 * What is cached of one bucket: per key, getMetadata's result; the bucket itself (getBucket: its
 * creation date, or that there is none); its own subresources (getSubresource with no key: the cors
 * and website configurations that s3rver's middleware reads on every object request), as file text
 * or null. Dropping the bucket replaces the whole BucketCache, so reads in flight fill an orphan.
 */
class BucketCache {
  constructor() {
    this.objects = new FillCache(); // key -> getMetadata's result (never handed out; callers get copies)
    this.bucket = new FillCache(); // '' -> { creationDate } | null
    this.subresources = new FillCache(); // type -> XML text | null
  }
}

const bucketCaches = new WeakMap(); // store -> Map(bucket -> BucketCache)

function bucketCache(store, bucket) {
  let m = bucketCaches.get(store);
  if (!m) bucketCaches.set(store, (m = new Map()));
  let cache = m.get(bucket);
  if (!cache) m.set(bucket, (cache = new BucketCache()));
  return cache;
}

function existingBucketCache(store, bucket) {
  const m = bucketCaches.get(store);
  return m && m.get(bucket);
}

const writes = new WeakMap(); // store -> Map(bucket + '/' + key -> writes to the key in progress)

/**
 * Marks a write to a key as begun (put, copy onto it, delete); its end drops what is cached of the
 * key (syncKey). Meanwhile getMetadata of the key reads the disk and caches nothing: s3rver's
 * copyObject reads the copy's metadata before the write has ended, and what is cached (or listed) of
 * the key is the overwritten object's.
 */
function beginWrite(store, bucket, key) {
  let m = writes.get(store);
  if (!m) writes.set(store, (m = new Map()));
  const name = `${bucket}/${key}`; // bucket names hold no '/'
  m.set(name, (m.get(name) || 0) + 1);
}

function endWrite(store, bucket, key) {
  const m = writes.get(store);
  const name = `${bucket}/${key}`;
  const n = m && m.get(name);
  if (n === undefined) return;
  if (n > 1) m.set(name, n - 1);
  else m.delete(name);
}

function isBeingWritten(store, bucket, key) {
  const m = writes.get(store);
  return m !== undefined && m.size > 0 && m.has(`${bucket}/${key}`);
}

function dropObjectMeta(store, bucket, key) {
  const cache = existingBucketCache(store, bucket);
  if (cache) cache.objects.drop(key);
}

function dropSubresource(store, bucket, resourceType) {
  const cache = existingBucketCache(store, bucket);
  if (cache) cache.subresources.drop(resourceType);
}

function dropBucketMeta(store, bucket) {
  if (bucket === undefined) bucketCaches.delete(store);
  else {
    const m = bucketCaches.get(store);
    if (m) m.delete(bucket);
  }
}

// ---------------------------------------------------------------------------------------------
// FilesystemStore
// ---------------------------------------------------------------------------------------------

const MISSING_MD5 = Symbol('missing md5');

let readBuf = Buffer.alloc(64 * 1024);

/**
 * The ETag getMetadata makes of a .md5 file, JSON.stringify(its text), read with open, read, close
 * (readFileSync adds an fstat per file, a quarter of the cost). A hex MD5 becomes one flat string of
 * 34 one-byte characters, made from the buffer with its quotes: JSON.stringify's own result takes
 * about twice the memory, which counts once it is cached per key.
 */
function readEtagSync(file) {
  const fd = fs.openSync(file, 'r');
  let n = 1; // readBuf[0] is the opening quote
  try {
    for (;;) {
      if (n + 1 >= readBuf.length) {
        const bigger = Buffer.alloc(readBuf.length * 2);
        readBuf.copy(bigger, 0, 0, n);
        readBuf = bigger;
      }
      const got = fs.readSync(fd, readBuf, n, readBuf.length - n - 1, null); // room for the closing quote
      if (got === 0) break;
      n += got;
    }
  } finally {
    fs.closeSync(fd);
  }
  for (let i = 1; i < n; i++) {
    const c = readBuf[i];
    // Not printable ASCII, or a quote or backslash: whatever JSON.stringify makes of it.
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(readBuf.toString('utf8', 1, n));
  }
  readBuf[0] = 0x22;
  readBuf[n] = 0x22;
  return readBuf.toString('latin1', 0, n + 1);
}

/**
 * What a listing entry shows of an object: size, ETag (the quoted MD5, as getMetadata gives it) and
 * last-modified as the ISO string the listing prints (getMetadata's last-modified is toUTCString() of
 * the mtime, so whole seconds; keys written in the same second share the string). The storage class
 * is always STANDARD.
 */
class ListedMeta {
  constructor(size, etag, lastModified) {
    this.size = size;
    this.etag = etag;
    this.lastModified = lastModified;
  }
}

/**
 * What a listing needs of FilesystemStore#getMetadata (size and last-modified from a stat, ETag from
 * the .md5 file; metadata.json holds nothing a listing shows), read synchronously: about four times
 * faster than getMetadata's asynchronous reads through libuv's small thread pool, and done once per key
 * (then cached in the index). undefined when the object is gone (deleted while listing); MISSING_MD5
 * when its .md5 file is missing, which getMetadata itself recomputes and writes.
 */
function listedMetaSync(store, index, bucket, key) {
  const objectPath = store.getResourcePath(bucket, key, 'object');
  let stat;
  let etag;
  try {
    stat = fs.statSync(objectPath);
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err;
  }
  try {
    etag = readEtagSync(`${objectPath}.md5`);
  } catch (err) {
    if (err.code === 'ENOENT') return MISSING_MD5;
    throw err;
  }
  const second = Math.floor(stat.mtimeMs / 1000) * 1000;
  let lastModified = index.times.get(second);
  if (lastModified === undefined) {
    if (index.times.size >= 10000) index.times.clear(); // keys written over many seconds: share less
    index.times.set(second, (lastModified = new Date(second).toISOString()));
  }
  // stat.size is a double; as a small integer it takes no heap number of its own (17 bytes a key).
  const size = stat.size < 0x40000000 ? stat.size | 0 : stat.size;
  return new ListedMeta(size, etag, lastModified);
}

/**
 * FilesystemStore#getMetadata, read synchronously (as listedMetaSync, and for the same reason: four
 * asynchronous reads through libuv's thread pool cost several times more): size, ETag and
 * last-modified from the key's listing entry if a listing has cached it, else from a stat and the .md5
 * file; the headers from metadata.json. Throws what getMetadata throws when the object is gone
 * (ENOENT); MISSING_MD5 when its .md5 file is missing, which getMetadata itself computes and writes.
 */
function objectMetaSync(store, bucket, key) {
  const index = bucketIndexes(store).get(bucket);
  const listed = index && index.listed.get(key);
  let etag;
  let lastModified;
  let size;
  if (listed) {
    etag = listed.etag;
    lastModified = new Date(listed.lastModified).toUTCString(); // whole seconds, as stat.mtime's
    size = listed.size;
  } else {
    const objectPath = store.getResourcePath(bucket, key, 'object');
    const stat = fs.statSync(objectPath);
    try {
      etag = readEtagSync(`${objectPath}.md5`);
    } catch (err) {
      if (err.code === 'ENOENT') return MISSING_MD5;
      throw err;
    }
    lastModified = stat.mtime.toUTCString();
    size = stat.size;
  }
  let storedMetadata;
  try {
    storedMetadata = JSON.parse(fs.readFileSync(store.getResourcePath(bucket, key, 'metadata.json')));
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  return { ...storedMetadata, etag, 'last-modified': lastModified, 'content-length': size };
}

/**
 * An object of a listing page, backed by its ListedMeta: an S3Object (instanceof, key, size,
 * lastModifiedDate, metadata with etag, last-modified and content-length) for whatever reads
 * store.listObjects' result, without S3Object's lodash picking or date strings per key unless asked
 * for; metadata.json's headers, which no listing shows, are left out.
 */
class ListedObject {
  constructor(bucket, key, listed) {
    this.bucket = bucket;
    this.key = key;
    this.content = null;
    this.listed = listed;
  }

  get size() {
    return this.listed.size;
  }

  get lastModifiedDate() {
    return new Date(this.listed.lastModified);
  }

  get metadata() {
    const metadata = {
      etag: this.listed.etag,
      'last-modified': this.lastModifiedDate.toUTCString(),
      'content-length': this.listed.size,
      'content-type': 'binary/octet-stream',
    };
    this.metadata = metadata;
    return metadata;
  }

  set metadata(metadata) {
    Object.defineProperty(this, 'metadata', { value: metadata, writable: true, enumerable: true, configurable: true });
  }
}
Object.setPrototypeOf(ListedObject.prototype, S3Object.prototype);

/**
 * List in UTF-8 byte order. Returns s3rver's shape ({objects, commonPrefixes, isTruncated}) plus
 * `entries` (keys and common prefixes, in order, as counted against maxKeys) and `lastEntry`
 * (what a continuation must start after).
 */
async function listObjects(bucket, options) {
  const { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity } = options || {};
  const index = getIndex(this, bucket);
  const { keys, bufs } = index;
  const afterBuf = startAfter ? utf8(startAfter) : null;

  let i = lowerBound(bufs, utf8(prefix));
  if (afterBuf) i = Math.max(i, upperBound(bufs, afterBuf));

  const entries = []; // { key } | { prefix }
  let isTruncated = false;
  while (i < keys.length) {
    const key = keys[i];
    if (!key.startsWith(prefix)) break; // keys with the prefix are contiguous from lowerBound(prefix)
    let entry = { key };
    let next = i + 1;
    if (delimiter) {
      const at = key.indexOf(delimiter, prefix.length);
      if (at !== -1) {
        const cp = key.slice(0, at + delimiter.length);
        next = endOfPrefixRun(bufs, utf8(cp), i);
        // A continuation (or marker) that is this very prefix has already returned it.
        if (cp === startAfter) {
          i = next;
          continue;
        }
        entry = { prefix: cp };
      }
    }
    if (entries.length >= maxKeys) {
      isTruncated = true;
      break;
    }
    entries.push(entry);
    i = next;
  }

  // Metadata from the index's cache, else from disk (then cached). All of it is read before the first
  // await, so no write is noted between a key's read and its caching; what the asynchronous fallback
  // reads is not cached (a write may have been noted meanwhile; it leaves the .md5 file for next time).
  const { listed } = index;
  let objects = [];
  const slow = [];
  for (const e of entries) {
    if (e.key === undefined) continue;
    let meta = listed.get(e.key);
    if (meta === undefined) {
      meta = listedMetaSync(this, index, bucket, e.key);
      if (meta === undefined) continue; // deleted since the index saw it; its write will be noted
      if (meta === MISSING_MD5) {
        slow.push(objects.length);
        objects.push(e.key);
        continue;
      }
      listed.set(e.key, meta);
    }
    objects.push(new ListedObject(bucket, e.key, meta));
  }
  for (const n of slow) {
    const key = objects[n];
    const metadata = await this.getMetadata(bucket, key).catch((err) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    objects[n] = metadata === undefined ? undefined : new S3Object(bucket, key, null, metadata);
  }
  if (slow.length) objects = objects.filter((o) => o !== undefined);
  const last = entries[entries.length - 1];
  return {
    objects,
    commonPrefixes: entries.filter((e) => e.prefix !== undefined).map((e) => e.prefix),
    isTruncated,
    entries,
    lastEntry: last === undefined ? undefined : last.key !== undefined ? last.key : last.prefix,
  };
}

async function unlinkIfPresent(file) {
  try {
    await fs.promises.unlink(file);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
}

function patchStore() {
  const proto = FilesystemStore.prototype;
  const orig = {
    getMetadata: proto.getMetadata,
    getBucket: proto.getBucket,
    getSubresource: proto.getSubresource,
    putSubresource: proto.putSubresource,
    deleteSubresource: proto.deleteSubresource,
    putObject: proto.putObject,
    copyObject: proto.copyObject,
    putObjectMultipart: proto.putObjectMultipart,
    putBucket: proto.putBucket,
    deleteBucket: proto.deleteBucket,
    reset: proto.reset,
  };

  proto.listObjects = listObjects;

  // s3rver's own getObject and copyObject call this.getMetadata, so GET Object and CopyObject's
  // result are served from the cache too.
  proto.getMetadata = async function getMetadata(bucket, key) {
    if (isBeingWritten(this, bucket, key)) return orig.getMetadata.call(this, bucket, key);
    const cache = bucketCache(this, bucket).objects;
    let metadata = cache.entries.get(key);
    if (metadata === undefined) {
      // Read and cached with no await between, so no write is noted in between.
      metadata = objectMetaSync(this, bucket, key);
      if (metadata === MISSING_MD5) {
        metadata = await cache.get(key, () => orig.getMetadata.call(this, bucket, key));
      } else {
        cache.set(key, metadata);
      }
    }
    return { ...metadata };
  };

  // Asked by every object request (bucketExists) and by CopyObject for its source bucket.
  proto.getBucket = async function getBucket(bucket) {
    const found = await bucketCache(this, bucket).bucket.get('', async () => {
      const b = await orig.getBucket.call(this, bucket);
      return b ? { creationDate: b.creationDate } : null;
    });
    return found ? new S3Bucket(bucket, found.creationDate) : null;
  };

  // A bucket's own cors and website configurations are asked by every object request (s3rver's
  // cors and website middleware); an object's (tagging) are read as before.
  proto.getSubresource = async function getSubresource(bucket, key, resourceType) {
    if (key !== undefined) return orig.getSubresource.call(this, bucket, key, resourceType);
    const Model = getConfigModel(resourceType);
    const text = await bucketCache(this, bucket).subresources.get(resourceType, async () => {
      try {
        return (await fs.promises.readFile(this.getResourcePath(bucket, key, `${resourceType}.xml`))).toString();
      } catch (err) {
        if (err.code === 'ENOENT') return null;
        throw err;
      }
    });
    return text === null ? null : new Model(text);
  };

  proto.putSubresource = async function putSubresource(bucket, key, resource) {
    try {
      return await orig.putSubresource.call(this, bucket, key, resource);
    } finally {
      if (key === undefined) dropSubresource(this, bucket, resource.type);
    }
  };

  proto.deleteSubresource = async function deleteSubresource(bucket, key, resourceType) {
    try {
      return await orig.deleteSubresource.call(this, bucket, key, resourceType);
    } finally {
      if (key === undefined) dropSubresource(this, bucket, resourceType);
    }
  };

  proto.putObject = async function putObject(object) {
    beginWrite(this, object.bucket, object.key);
    try {
      return await orig.putObject.call(this, object);
    } finally {
      endWrite(this, object.bucket, object.key);
      syncKey(this, object.bucket, object.key);
    }
  };

  proto.copyObject = async function copyObject(srcBucket, srcKey, destBucket, destKey, replacementMetadata) {
    beginWrite(this, destBucket, destKey);
    try {
      // With REPLACE, s3rver copies another key's object file but writes no .md5, leaving the
      // destination's old one (another body's ETag); without it, getMetadata computes the copy's.
      if (replacementMetadata && this.getResourcePath(srcBucket, srcKey, 'object') !== this.getResourcePath(destBucket, destKey, 'object')) {
        await unlinkIfPresent(this.getResourcePath(destBucket, destKey, 'object.md5'));
      }
      return await orig.copyObject.call(this, srcBucket, srcKey, destBucket, destKey, replacementMetadata);
    } finally {
      endWrite(this, destBucket, destKey);
      syncKey(this, destBucket, destKey);
    }
  };

  // s3rver's own, but for removing the key's emptied folders: keys deleted at once (a multi-delete
  // deletes its keys concurrently) may share them, and s3rver failed the request (500) when a sibling's
  // delete had removed a folder first.
  proto.deleteObject = async function deleteObject(bucket, key) {
    beginWrite(this, bucket, key);
    try {
      await Promise.all(['object', 'object.md5', 'metadata.json'].map((r) => unlinkIfPresent(this.getResourcePath(bucket, key, r))));
      const bucketPath = this.getBucketPath(bucket);
      const parts = key.split('/');
      parts.pop(); // the last part is in the file names
      while (parts.length) {
        const dir = path.join(bucketPath, ...parts);
        let entries;
        try {
          entries = fs.readdirSync(dir);
        } catch (err) {
          if (err.code !== 'ENOENT') throw err;
          entries = []; // removed by a sibling's delete
        }
        if (entries.length) break;
        try {
          await fs.promises.rmdir(dir);
        } catch (err) {
          if (err.code === 'ENOTEMPTY' || err.code === 'EEXIST') break; // a put into it meanwhile
          if (err.code !== 'ENOENT') throw err;
        }
        parts.pop();
      }
    } finally {
      endWrite(this, bucket, key);
      syncKey(this, bucket, key);
    }
  };

  // Completion stores the object through this.putObject (synced above); the key is only known from
  // the upload's files, so a failure after the write is covered by a rescan.
  proto.putObjectMultipart = async function putObjectMultipart(bucket, uploadId, parts) {
    try {
      return await orig.putObjectMultipart.call(this, bucket, uploadId, parts);
    } catch (err) {
      dropIndex(this, bucket);
      throw err;
    }
  };

  proto.putBucket = async function putBucket(bucket) {
    dropIndex(this, bucket);
    try {
      return await orig.putBucket.call(this, bucket);
    } finally {
      dropIndex(this, bucket);
    }
  };

  proto.deleteBucket = async function deleteBucket(bucket) {
    try {
      return await orig.deleteBucket.call(this, bucket);
    } finally {
      dropIndex(this, bucket);
    }
  };

  proto.reset = function reset() {
    try {
      return orig.reset.call(this);
    } finally {
      dropIndex(this);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Bucket controller: GET Bucket (ListObjects V1 and V2)
// ---------------------------------------------------------------------------------------------

// Same token scheme as s3rver (DES, hence --openssl-legacy-provider), but made from the last entry of
// the page, key or common prefix, and parsed without a regular expression that stops at newlines.
const TOKEN_KEY = Buffer.alloc(8, 'S3RVER', 'utf8');

function generateContinuationToken(bucket, lastEntry, region) {
  const iv = crypto.randomBytes(8);
  iv[0] = (iv[0] & 0b00000011) | 0b11010100;
  const cipher = crypto.createCipheriv('des', TOKEN_KEY, iv);
  return Buffer.concat([iv, cipher.update(`${region}/${bucket}/${lastEntry}`, 'utf8'), cipher.final()]).toString('base64');
}

function invalidToken() {
  return new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
    ArgumentName: 'continuation-token',
  });
}

function decipherContinuationToken(token, bucket) {
  let text;
  try {
    const buf = Buffer.from(token, 'base64');
    if (buf.length < 16) throw invalidToken();
    const decipher = crypto.createDecipheriv('des', TOKEN_KEY, buf.subarray(0, 8));
    text = Buffer.concat([decipher.update(buf.subarray(8)), decipher.final()]).toString('utf8');
  } catch {
    throw invalidToken();
  }
  const a = text.indexOf('/');
  const b = a === -1 ? -1 : text.indexOf('/', a + 1);
  if (b === -1 || text.slice(0, a) !== 'us-east-1' || text.slice(a + 1, b) !== bucket || b + 1 >= text.length) {
    throw invalidToken();
  }
  return text.slice(b + 1);
}

// s3rver turns a plain-object body into XML with fast-xml-parser's j2xParser ({ ignoreAttributes: false,
// attrNodeName: '@', tagValueProcessor: (a) => he.escape(a.toString()) }); at 2.5–7 ms for a page of
// 1,000 keys that is most of a warm page's time. bodyToXml gives the same text, byte for byte, for the
// bodies getBucket makes (plain objects, arrays, strings, numbers, booleans, undefined, null; no '#text').
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
const XML_ESCAPES = { '"': '&quot;', '&': '&amp;', "'": '&#x27;', '<': '&lt;', '>': '&gt;', '`': '&#x60;' };
const XML_SPECIAL = /["&'<>`]/;
const XML_SPECIAL_ALL = /["&'<>`]/g;

/** he.escape(value.toString()) */
function escapeXml(value) {
  const text = value.toString();
  return XML_SPECIAL.test(text) ? text.replace(XML_SPECIAL_ALL, (c) => XML_ESCAPES[c]) : text;
}

/** j2xParser#j2x: an object's attributes (its '@' member, values as they are) and its elements. */
function xmlMembers(obj) {
  let attrs = '';
  let val = '';
  for (const name in obj) {
    const v = obj[name];
    if (v === undefined) continue;
    if (v === null) val += `<${name}/>`;
    else if (typeof v !== 'object' || v instanceof Date) val += `<${name}>${escapeXml(v)}</${name}>`;
    else if (Array.isArray(v)) {
      for (const item of v) {
        if (item === undefined) continue;
        if (item === null) val += `<${name}/>`;
        else if (typeof item === 'object') val += xmlElement(name, item);
        else val += `<${name}>${escapeXml(item)}</${name}>`;
      }
    } else if (name === '@') {
      for (const a of Object.keys(v)) attrs += ` ${a}="${v[a]}"`;
    } else val += xmlElement(name, v);
  }
  return { attrs, val };
}

function xmlElement(name, obj) {
  const { attrs, val } = xmlMembers(obj);
  return `<${name}${attrs}>${val}</${name}>`;
}

function bodyToXml(body) {
  return XML_DECLARATION + xmlMembers(body).val;
}

async function getBucket(ctx) {
  const options = {
    delimiter: ctx.query['delimiter'] || undefined,
    encodingType: ctx.query['encoding-type'], // currently unimplemented (as in s3rver)
    maxKeys: 1000,
    startAfter: undefined,
    prefix: ctx.query['prefix'] || undefined,
    fetchOwner: undefined,
  };
  if (ctx.query['max-keys']) {
    if (!ctx.query['max-keys'].match(/^-?\d+$/)) {
      throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', {
        ArgumentName: 'max-keys',
        ArgumentValue: ctx.query['max-keys'],
      });
    }
    const maxKeys = Number(ctx.query['max-keys']);
    if (maxKeys < 0 || maxKeys > 2147483647) {
      throw new S3Error('InvalidArgument', 'Argument maxKeys must be an integer between 0 and 2147483647', {
        ArgumentName: 'maxKeys',
        ArgumentValue: maxKeys,
      });
    }
    options.maxKeys = Math.min(1000, maxKeys);
  }
  const v2 = ctx.query['list-type'] === '2';
  if (v2) {
    if ('marker' in ctx.query) {
      throw new S3Error('InvalidArgument', 'Marker unsupported with REST.GET.BUCKET in list-type=2', {
        ArgumentName: 'marker',
      });
    }
    options.startAfter = ctx.query['continuation-token']
      ? decipherContinuationToken(ctx.query['continuation-token'], ctx.params.bucket)
      : ctx.query['start-after'];
    options.fetchOwner = ctx.query['fetch-owner'] === 'true';
  } else {
    if ('continuation-token' in ctx.query) {
      throw new S3Error('InvalidArgument', 'continuation-token only supported in REST.GET.BUCKET with list-type=2', {
        ArgumentName: 'continuation-token',
      });
    }
    if ('start-after' in ctx.query) {
      throw new S3Error('InvalidArgument', 'startAfter only supported in REST.GET.BUCKET with list-type=2', {
        ArgumentName: 'start-after',
      });
    }
    options.fetchOwner = true;
    options.startAfter = ctx.query['marker'];
  }
  ctx.logger.info('Fetched bucket "%s" with options %j', ctx.params.bucket, options);
  let result;
  try {
    result =
      options.maxKeys === 0
        ? { objects: [], commonPrefixes: [], isTruncated: false, entries: [], lastEntry: undefined }
        : await ctx.store.listObjects(ctx.params.bucket, options);
  } catch (err) {
    ctx.logger.error('Error listing objects in bucket "%s"', ctx.params.bucket, err);
    throw err;
  }
  ctx.logger.info('Found %d objects for bucket "%s"', result.objects.length, ctx.params.bucket);
  const truncated = Boolean(result.isTruncated && result.lastEntry !== undefined);
  ctx.body = {
    ListBucketResult: {
      '@': { xmlns: 'http://doc.s3.amazonaws.com/2006-03-01/' },
      Name: ctx.params.bucket,
      Prefix: options.prefix || '', // never omit
      ...(v2
        ? {
            StartAfter: ctx.query['continuation-token'] ? undefined : options.startAfter,
            ContinuationToken: ctx.query['continuation-token'] || undefined,
            NextContinuationToken: truncated
              ? generateContinuationToken(ctx.params.bucket, result.lastEntry, 'us-east-1')
              : undefined,
            KeyCount: result.objects.length + result.commonPrefixes.length,
          }
        : {
            Marker: options.startAfter || '', // never omit
            NextMarker: options.delimiter && truncated ? result.lastEntry : undefined,
          }),
      MaxKeys: ctx.query['max-keys'] || 1000,
      Delimiter: options.delimiter || undefined,
      IsTruncated: truncated,
      Contents: result.objects.map((object) => {
        const { listed } = object; // a ListedObject's cached strings, without a Date per key
        return {
          Key: object.key,
          LastModified: listed ? listed.lastModified : object.lastModifiedDate.toISOString(),
          ETag: listed ? listed.etag : object.metadata['etag'],
          Size: object.size,
          Owner: options.fetchOwner ? { ID: DUMMY_ACCOUNT.id, DisplayName: DUMMY_ACCOUNT.displayName } : undefined,
          StorageClass: 'STANDARD',
        };
      }),
      CommonPrefixes: result.commonPrefixes.map((prefix) => ({ Prefix: prefix })),
    },
  };
  // The XML s3rver's response middleware would make of this body, made here at a third of the cost.
  ctx.type = 'application/xml';
  ctx.body = bodyToXml(ctx.body);
}

// ---------------------------------------------------------------------------------------------
// Object controller: PUT Object - Copy
// ---------------------------------------------------------------------------------------------

/** The source "bucket/key" of an x-amz-copy-source header, decoded as S3 decodes it. */
function decodeCopySource(raw) {
  let value = String(raw);
  const q = value.lastIndexOf('?versionId=');
  if (q !== -1) value = value.slice(0, q);
  try {
    return decodeURIComponent(value);
  } catch {
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', {
      ArgumentName: 'x-amz-copy-source',
      ArgumentValue: String(raw),
    });
  }
}

function patchCopy() {
  const origPutObjectCopy = objectCtrl.putObjectCopy;
  objectCtrl.putObjectCopy = function putObjectCopy(ctx) {
    const source = decodeCopySource(ctx.headers['x-amz-copy-source']);
    // s3rver's own handler applies decodeURI; encodeURI is its exact inverse on a well-formed string,
    // so it sees the correctly decoded source and everything else (events, metadata) stays its own.
    ctx.headers['x-amz-copy-source'] = encodeURI(source);
    return origPutObjectCopy(ctx);
  };
}

// ---------------------------------------------------------------------------------------------
// Object controller: HEAD Object
// ---------------------------------------------------------------------------------------------

/**
 * s3rver's getObject controller for a HEAD, with FilesystemStore#getObject's part of it, answered from
 * store.getMetadata (cached) alone: s3rver opens a read stream of the object only to destroy it.
 * Status, headers, ranges, conditional requests and errors are s3rver's, expression for expression.
 */
async function headObject(ctx) {
  const options = {};
  if (/^bytes=/.test(ctx.headers['range'])) {
    const [start, end] = ctx.headers['range'].replace('bytes=', '').split('-');
    options.start = Number(start);
    if (end) options.end = Number(end);
  }

  const key = ctx.params.key;
  let object = null;
  try {
    const metadata = await ctx.store.getMetadata(ctx.params.bucket, key);
    const lastByte = Math.max(0, Number(metadata['content-length']) - 1);
    const range = {
      start: options.start || 0,
      end: Math.min(options.end || Infinity, lastByte),
    };
    object = new S3Object(ctx.params.bucket, key, null, metadata);
    if (options.start !== undefined || options.end) object.range = range;
    // FilesystemStore#getObject leaves an unsatisfiable range without content, a satisfiable one with it.
    object.satisfiable = !(range.start < 0 || Math.min(range.end, lastByte) < range.start);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  if (!object) {
    throw new S3Error('NoSuchKey', 'The specified key does not exist.', {
      Key: key,
    });
  }

  // Range request was out of range
  if (object.range && !object.satisfiable) {
    throw new S3Error('InvalidRange', 'The requested range is not satisfiable', {
      RangeRequested: ctx.get('range'),
      ActualObjectSize: object.size,
    });
  }

  const noneMatch = ctx.headers['if-none-match'];
  if (noneMatch && (noneMatch === object.metadata['etag'] || noneMatch === '*')) {
    ctx.status = 304;
    return;
  }
  const modifiedSince = ctx.headers['if-modified-since'];
  if (new Date(modifiedSince) >= object.lastModifiedDate) {
    ctx.status = 304;
    return;
  }

  ctx.set('Accept-Ranges', 'bytes');

  for (const header of Object.keys(object.metadata)) {
    ctx.set(capitalizeHeader(header), object.metadata[header]);
  }
  if (object.range) {
    ctx.set('Content-Range', `bytes ${object.range.start}-${object.range.end}/${object.size}`);
    ctx.length = object.range.end + 1 - object.range.start;
    ctx.status = 206;
  } else {
    ctx.length = object.size;
    ctx.status = 200;
  }
}

function patchHead() {
  // The router looks objectCtrl.getObject up per request.
  const origGetObject = objectCtrl.getObject;
  objectCtrl.getObject = function getObject(ctx) {
    return ctx.method === 'HEAD' ? headObject(ctx) : origGetObject(ctx);
  };
}

function applyPatches() {
  if (FilesystemStore[PATCHED]) return;
  FilesystemStore[PATCHED] = true;
  patchStore();
  bucketCtrl.getBucket = getBucket;
  patchCopy();
  patchHead();
}

module.exports = { applyPatches, decodeCopySource, KeyIndex, bodyToXml };
