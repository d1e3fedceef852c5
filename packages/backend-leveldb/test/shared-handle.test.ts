// The handle's synchronous lease (a put on an open handle takes it without a turn of its own): it
// is only ever given where lease() would give one at once, and a hand-over it finds due is started
// exactly as lease() starts it.
import { describe, expect, it } from 'vitest';
import { SharedHandle } from '../src/shared-handle.js';

class FakeDb {
  closed = 0;
  async close(): Promise<void> {
    this.closed++;
  }
}

/** Until a busy handle's hand-over check is due again (it runs at most every 20 ms), by the clock it reads. */
async function checkDue(since: number): Promise<void> {
  while (performance.now() - since <= 21) await new Promise((resolve) => setTimeout(resolve, 5));
}

function handle(options: { idleCloseMs?: number; asked?: () => boolean } = {}) {
  const opened: FakeDb[] = [];
  const h = new SharedHandle<FakeDb>(
    async () => {
      const db = new FakeDb();
      opened.push(db);
      return db;
    },
    options.idleCloseMs ?? 1_000,
    options.asked,
  );
  return { h, opened };
}

describe('SharedHandle.leaseNow', () => {
  it('gives nothing before the handle is open, then the open database, counted until released', async () => {
    const { h } = handle();
    expect(h.leaseNow()).toBeUndefined();
    await h.use(async () => undefined);
    const lease = h.leaseNow();
    expect(lease?.db).toBeInstanceOf(FakeDb);
    expect(h.inUse).toBe(1);
    lease?.release();
    lease?.release();
    expect(h.inUse).toBe(0);
    await h.shutdown();
  });

  it('gives nothing while the handle closes, and the next lease() opens a fresh database', async () => {
    const { h, opened } = handle();
    await h.use(async () => undefined);
    const closing = h.closeIfIdle();
    expect(h.leaseNow()).toBeUndefined();
    expect(await closing).toBe(true);
    expect(h.leaseNow()).toBeUndefined();
    await h.use(async () => undefined);
    expect(opened).toHaveLength(2);
    await h.shutdown();
  });

  it('a hand-over asked for while idle closes the handle at once instead of leasing it', async () => {
    let asked = false;
    const { h, opened } = handle({ asked: () => asked });
    await h.use(async () => undefined);
    const used = performance.now();
    asked = true;
    await checkDue(used);
    expect(h.leaseNow()).toBeUndefined();
    expect(h.isOpen).toBe(false);
    expect(opened[0]?.closed).toBe(1);
    await h.shutdown();
  });

  it('a hand-over asked for while busy lets the lease in flight finish, then closes; lease() waits for it', async () => {
    let asked = false;
    const { h, opened } = handle({ asked: () => asked });
    await h.use(async () => undefined);
    const first = h.leaseNow();
    const leased = performance.now();
    expect(first).toBeDefined();
    asked = true;
    await checkDue(leased);
    expect(h.leaseNow()).toBeUndefined();
    let waited = false;
    const next = h.lease().then((lease) => {
      waited = true;
      return lease;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(waited).toBe(false);
    expect(opened[0]?.closed).toBe(0);
    asked = false;
    first?.release();
    const second = await next;
    expect(opened[0]?.closed).toBe(1);
    expect(second.db).toBe(opened[1]);
    second.release();
    await h.shutdown();
  });

  it('a store kept open for the whole run (idleCloseMs 0) never hands over', async () => {
    const { h } = handle({ idleCloseMs: 0, asked: () => true });
    await h.use(async () => undefined);
    await checkDue(performance.now());
    const lease = h.leaseNow();
    expect(lease).toBeDefined();
    lease?.release();
    await h.shutdown();
  });
});
