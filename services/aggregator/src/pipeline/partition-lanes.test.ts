import { describe, expect, it } from 'vitest';
import { PartitionLane, PartitionLanes } from './partition-lanes.js';

class Refused extends Error {}

function lane(maxQueued = 2) {
  const seeks: bigint[] = [];
  const l = new PartitionLane({
    maxQueued,
    isRefusal: (err) => err instanceof Refused,
    seek: (o) => seeks.push(o),
  });
  return { l, seeks };
}

/** A write that ends when its `finish` or `fail` is called. */
function gate() {
  let finish!: () => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { done, finish, fail };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('PartitionLane', () => {
  it('runs writes one after the other, in the order queued', async () => {
    const { l } = lane(3);
    const order: string[] = [];
    const [a, b] = [gate(), gate()];
    l.enqueue(async () => {
      order.push('a starts');
      await a.done;
      order.push('a ends');
    });
    l.enqueue(async () => {
      order.push('b starts');
      await b.done;
      order.push('b ends');
    });
    await tick();
    expect(order).toEqual(['a starts']);
    b.finish();
    a.finish();
    await l.idle();
    expect(order).toEqual(['a starts', 'a ends', 'b starts', 'b ends']);
  });

  it.each([
    ['a refusal', new Refused('refused'), true],
    ['any other error', new Error('boom'), false],
  ])('on %s: drops the writes behind it and seeks back to the last commit', async (_n, err, refused) => {
    const { l, seeks } = lane(3);
    l.next = 100n;
    const ran: string[] = [];
    l.enqueue(async () => {
      ran.push('first');
      l.committed(149n);
      await Promise.resolve();
    });
    l.processed = 199n;
    l.enqueue(async () => {
      ran.push('second');
      await Promise.reject(err);
    });
    l.enqueue(async () => {
      ran.push('third');
      await Promise.resolve();
    });
    await l.idle();
    expect(ran).toEqual(['first', 'second']);
    expect(seeks).toEqual([150n]);
    expect(l.failure).toEqual({ error: err, refused, through: 199n });
  });

  it('admits a write only when fewer than maxQueued wait or run, ticking meanwhile', async () => {
    const { l } = lane(2);
    const [a, b] = [gate(), gate()];
    l.enqueue(() => a.done);
    l.enqueue(() => b.done);
    let ticks = 0;
    let admitted = false;
    const admit = l.admit(() => Promise.resolve(void ticks++), 5).then(() => (admitted = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(admitted).toBe(false);
    expect(ticks).toBeGreaterThan(0);
    a.finish();
    await admit;
    expect(l.depth).toBe(1);
    b.finish();
    await l.idle();
    expect(l.depth).toBe(0);
  });

  it('a drop ends the epoch: queued writes do not run, a running one learns it is stale', async () => {
    const { l, seeks } = lane(3);
    const a = gate();
    let staleSeen: boolean | null = null;
    let secondRan = false;
    l.enqueue(async (isCurrent) => {
      await a.done;
      staleSeen = !isCurrent();
      throw new Error('after the drop');
    });
    l.enqueue(async () => {
      secondRan = true;
      await Promise.resolve();
    });
    await tick(); // the first write is running
    l.drop();
    a.finish();
    await l.idle();
    expect([staleSeen, secondRan, l.failure, seeks]).toEqual([true, false, null, []]);
  });
});

describe('PartitionLane commits', () => {
  it('the next write does not wait for a commit; commits run in order; idle waits for both', async () => {
    const { l } = lane(3);
    const order: string[] = [];
    const c1 = gate();
    l.enqueue(async () => {
      order.push('write 1');
      l.commitLater(async () => {
        await c1.done;
        order.push('commit 1');
      });
      await Promise.resolve();
    });
    l.enqueue(async () => {
      order.push('write 2');
      l.commitLater(async () => {
        order.push('commit 2');
        await Promise.resolve();
      });
      await Promise.resolve();
    });
    await tick();
    await tick();
    expect(order).toEqual(['write 1', 'write 2']);
    let idle = false;
    const waiting = l.idle().then(() => (idle = true));
    await tick();
    expect(idle).toBe(false);
    c1.finish();
    await waiting;
    expect(order).toEqual(['write 1', 'write 2', 'commit 1', 'commit 2']);
  });

  it('a failed commit fails the lane: the commits behind it are dropped, the partition seeks back', async () => {
    const { l, seeks } = lane(3);
    l.next = 10n;
    l.processed = 40n;
    const ran: string[] = [];
    l.commitLater(() => Promise.reject(new Error('commit refused')));
    l.commitLater(async () => {
      ran.push('commit 2');
      await Promise.resolve();
    });
    await l.idle();
    expect(ran).toEqual([]);
    expect(seeks).toEqual([10n]);
    expect(l.failure?.through).toBe(40n);
  });
});

describe('PartitionLanes', () => {
  it('gives each partition its own lane and seek', async () => {
    const seeks: [number, bigint][] = [];
    const lanes = new PartitionLanes({
      maxQueued: 2,
      isRefusal: () => false,
      seek: (p, o) => seeks.push([p, o]),
    });
    expect(lanes.get(3)).toBe(lanes.get(3));
    lanes.get(3).next = 10n;
    lanes.get(4).next = 20n;
    lanes.get(4).enqueue(() => Promise.reject(new Error('x')));
    await lanes.idle();
    expect(seeks).toEqual([[4, 20n]]);
    expect(lanes.get(3).failure).toBeNull();
  });
});
