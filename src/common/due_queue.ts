/**
 * Items due at a time, taken in time order: a binary min-heap of (time, id,
 * tag) in typed arrays, grown by doubling. `tag` lets the owner tell a stale
 * entry (its item reused since) from a live one.
 */
export class DueQueue {
  private at = new Float64Array(64);
  private id = new Int32Array(64);
  private tag = new Float64Array(64);
  private n = 0;

  get size(): number {
    return this.n;
  }

  /** The earliest time queued (Infinity when empty). */
  get nextAt(): number {
    return this.n > 0 ? this.at[0] : Infinity;
  }

  push(at: number, id: number, tag: number): void {
    if (this.n === this.at.length) this.grow();
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.at[p] <= at) break;
      this.move(p, i);
      i = p;
    }
    this.at[i] = at;
    this.id[i] = id;
    this.tag[i] = tag;
  }

  /** Removes the earliest item; its id and tag are then in lastId/lastTag. */
  pop(): void {
    const n = --this.n;
    this.lastId = this.id[0];
    this.lastTag = this.tag[0];
    if (n === 0) return;
    const at = this.at[n];
    const id = this.id[n];
    const tag = this.tag[n];
    let i = 0;
    while (true) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.at[c + 1] < this.at[c]) c++;
      if (this.at[c] >= at) break;
      this.move(c, i);
      i = c;
    }
    this.at[i] = at;
    this.id[i] = id;
    this.tag[i] = tag;
  }

  lastId = -1;
  lastTag = 0;

  private move(from: number, to: number): void {
    this.at[to] = this.at[from];
    this.id[to] = this.id[from];
    this.tag[to] = this.tag[from];
  }

  private grow(): void {
    const at = new Float64Array(this.at.length * 2);
    const id = new Int32Array(this.at.length * 2);
    const tag = new Float64Array(this.at.length * 2);
    at.set(this.at);
    id.set(this.id);
    tag.set(this.tag);
    this.at = at;
    this.id = id;
    this.tag = tag;
  }
}
