/** Where an impairment stage hands the frames it releases; the sink takes ownership of the slot. */
export interface FrameSink {
  push(slot: number): void;
}
