// Reading whole files, one after another, into one buffer that is kept: a fresh 19 MB buffer per
// object costs its page faults every time (~15 ms here) and leaves the garbage collector one more
// to free. For a reader that is done with one file's bytes before it reads the next.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

export class ReusedRead {
  private buffer: Buffer | undefined;

  /** Files larger than `keepMax` get a buffer of their own, not kept. */
  constructor(private readonly keepMax = 64 * 2 ** 20) {}

  /**
   * The file's bytes, in the kept buffer when they fit: valid until the next read. A file larger
   * than `limit` is refused before it is read.
   */
  read(path: string, limit = Infinity): Uint8Array {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > limit) throw new Error(`file of ${size} bytes is larger than the ${limit}-byte limit; not read`);
      const out = this.bufferFor(size);
      let got = 0;
      while (got < size) {
        const n = readSync(fd, out, got, size - got, got);
        if (n === 0) throw new Error(`file shrank while being read (${got} of ${size} bytes)`);
        got += n;
      }
      return out;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * As read, on the thread pool: for a service whose event loop also receives (the forwarder of a
   * proxy), so that 19 MB of copying does not hold up a modality's PDUs.
   */
  async readAsync(path: string, limit = Infinity): Promise<Uint8Array> {
    const file = await open(path, 'r');
    try {
      const size = (await file.stat()).size;
      if (size > limit) throw new Error(`file of ${size} bytes is larger than the ${limit}-byte limit; not read`);
      const out = this.bufferFor(size);
      let got = 0;
      while (got < size) {
        const { bytesRead } = await file.read(out, got, size - got, got);
        if (bytesRead === 0) throw new Error(`file shrank while being read (${got} of ${size} bytes)`);
        got += bytesRead;
      }
      return out;
    } finally {
      await file.close();
    }
  }

  private bufferFor(size: number): Buffer {
    if (size > this.keepMax) return Buffer.allocUnsafe(size);
    if (!this.buffer || this.buffer.length < size) this.buffer = Buffer.allocUnsafe(size);
    return this.buffer.subarray(0, size);
  }
}
