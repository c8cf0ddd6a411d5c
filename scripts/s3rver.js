#!/usr/bin/env node
// s3rver 3.7.1 (installed by scripts/install-deps.sh) with the one S3
// guarantee it lacks and strata's tests rely on: a PUT of an object is atomic.
// s3rver truncates the object file and streams into it, resolves the PUT
// before the bytes are flushed, and writes the metadata after: two PUTs of one
// key that overlap leave the metadata of one beside the bytes of the other (or
// a mix of both) until the next write, a torn object no retry can read
// whole (ADR 21). Here the writes of one key run one after the other, and the
// bytes go to a temporary file renamed over the object once flushed. GETs are
// untouched: one racing a PUT can still read a torn body, which
// S3Repository retries, as on any server whose reads are not snapshots.
// Arguments are s3rver's own; scripts/servers.sh and the tests' S3rverProcess
// run this file in its place.
'use strict';

const crypto = require('crypto');
const path = require('path');
const { pipeline, Readable, Transform } = require('stream');

const root = path.join(__dirname, '..', '.local', 's3rver', 'node_modules', 's3rver');
const fs = require(require.resolve('fs-extra', { paths: [root] }));
const FilesystemStore = require(path.join(root, 'lib', 'stores', 'filesystem'));

let temporaries = 0;

// The write, whole: every byte flushed to a file of its own, then renamed in.
async function putObjectAtomically(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await fs.mkdirp(path.dirname(objectPath));
  // Not a name s3rver lists: its listing keeps only names ending in the suffix.
  const temporary = `${objectPath}.${process.pid}-${++temporaries}.partial`;
  const md5 = crypto.createHash('md5');
  let size = 0;
  const source = Buffer.isBuffer(object.content)
    ? Readable.from([object.content])
    : object.content;
  const counting = new Transform({
    transform(chunk, encoding, callback) {
      md5.update(chunk, encoding);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await new Promise((resolve, reject) =>
      pipeline(source, counting, fs.createWriteStream(temporary), error =>
        error ? reject(error) : resolve(),
      ),
    );
    await fs.rename(temporary, objectPath);
  } catch (error) {
    await fs.remove(temporary);
    throw error;
  }
  const digest = md5.digest('hex');
  await this.putMetadata(object.bucket, object.key, object.metadata, digest);
  return { size, md5: digest };
}

// Each key's writes (PUT, DELETE) queue behind the one before.
const lastWrite = new Map();
function oneWriteAtATime(write, keyOf) {
  return function (...args) {
    const key = keyOf(...args);
    const previous = lastWrite.get(key) || Promise.resolve();
    const next = previous.catch(() => {}).then(() => write.apply(this, args));
    lastWrite.set(key, next);
    const forget = () => {
      if (lastWrite.get(key) === next) lastWrite.delete(key);
    };
    next.then(forget, forget);
    return next;
  };
}

FilesystemStore.prototype.putObject = oneWriteAtATime(
  putObjectAtomically,
  object => `${object.bucket}/${object.key}`,
);
FilesystemStore.prototype.deleteObject = oneWriteAtATime(
  FilesystemStore.prototype.deleteObject,
  (bucket, key) => `${bucket}/${key}`,
);

require(path.join(root, 'bin', 's3rver.js'));
