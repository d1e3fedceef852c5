// Where a file's next version is printed: each file's writes take turns between the buffer that
// holds the version last written (the cache's) and a spare, the version before it. A fresh buffer
// the size of the file costs page faults on every put (at 300 KB, about fifteen times what copying
// the bytes into memory already mapped costs); a spare costs one file's size of memory per file.
import type { SpliceRoom } from './record-splice.js';

/** Files above this size get a fresh buffer per write and keep no spare (memory over speed). */
const MAX_KEPT_BYTES = 1024 * 1024;

export class PrintRooms {
  private readonly spares = new Map<string, Buffer>();
  /** The buffers this module made (whole ArrayBuffers of their own): only these are ever reused. */
  private readonly made = new WeakSet<ArrayBufferLike>();

  /** A room for one write of `file`: the spare when it is large enough, else a new buffer with some headroom. */
  roomFor(file: string): SpliceRoom {
    return {
      allocate: (size) => {
        const spare = this.spares.get(file);
        this.spares.delete(file);
        if (spare !== undefined && spare.length >= size) return spare.subarray(0, size);
        const made = Buffer.allocUnsafeSlow(size + (size >> 3) + 1024);
        this.made.add(made.buffer);
        return made.subarray(0, size);
      },
    };
  }

  /**
   * Takes back the bytes of a version nothing holds any more (the caller has cleared every
   * reference to them) as the file's spare; bytes this module did not make are left alone.
   */
  retire(file: string, bytes: Buffer | undefined): void {
    if (bytes === undefined || !this.made.has(bytes.buffer) || bytes.buffer.byteLength > MAX_KEPT_BYTES) return;
    this.spares.set(file, Buffer.from(bytes.buffer));
  }

  /** Forgets a file's spare (its writes ended, or another writer takes over). */
  forget(file: string): void {
    this.spares.delete(file);
  }

  clear(): void {
    this.spares.clear();
  }
}
