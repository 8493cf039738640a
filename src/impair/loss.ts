/**
 * Loss models: independent random loss, and the Gilbert-Elliott two-state
 * model that netem's `loss gemodel` implements (bursts of loss while in the bad
 * state). One decision per frame, no allocation.
 */
import type { Prng } from '../common/prng.js';
import { LOSS_GE, LOSS_RANDOM, type ImpairSpec } from './spec.js';

export class LossModel {
  private readonly model: number;
  private readonly p: number;
  private readonly r: number;
  private readonly lossBad: number;
  private readonly lossGood: number;
  private readonly loss: number;
  /** Gilbert-Elliott state: true while in the bad state. */
  private bad = false;

  constructor(
    spec: ImpairSpec,
    private readonly prng: Prng,
  ) {
    this.model = spec.lossModel;
    this.loss = spec.loss;
    this.p = spec.geP;
    this.r = spec.geR;
    this.lossBad = spec.geLossBad;
    this.lossGood = spec.geLossGood;
  }

  /** Decides whether the next frame is lost. */
  drop(): boolean {
    if (this.model === LOSS_RANDOM) return this.prng.chance(this.loss);
    if (this.model !== LOSS_GE) return false;
    // The frame is lost per the current state's loss rate, then the chain steps
    // (as netem's loss_gilb_ell does). Stationary bad share is p / (p + r).
    const lost = this.prng.chance(this.bad ? this.lossBad : this.lossGood);
    if (this.bad) {
      if (this.prng.chance(this.r)) this.bad = false;
    } else if (this.prng.chance(this.p)) {
      this.bad = true;
    }
    return lost;
  }
}

/** The long-run loss share a spec asks for (for tests and the summary). */
export function expectedLoss(spec: ImpairSpec): number {
  if (spec.lossModel === LOSS_RANDOM) return spec.loss;
  if (spec.lossModel !== LOSS_GE) return 0;
  if (spec.geP + spec.geR === 0) return spec.geLossGood;
  const pBad = spec.geP / (spec.geP + spec.geR);
  return pBad * spec.geLossBad + (1 - pBad) * spec.geLossGood;
}
