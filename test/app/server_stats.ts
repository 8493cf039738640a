/** The identities the HTTP server's counters keep (ServerStats), asserted on a stats object or its JSON. */
import assert from 'node:assert/strict';

/** Every request and every connection accounted for, under one reason each. */
export function assertReconciled(s: Record<string, number>, what = 'server'): void {
  const n = (k: string): number => {
    assert.equal(typeof s[k], 'number', `${what}: counter ${k}`);
    return s[k];
  };
  assert.equal(n('requests'), n('responses') + n('inProgress') + n('droppedShed') + n('droppedClosed'), `${what}: requests = responses + in progress + dropped (${JSON.stringify(s)})`);
  const closed = n('closedPeer') + n('closedServer') + n('closedReset') + n('closedLost') + n('closedAborted') + n('closedHeaderTimeout') + n('closedIdleTimeout') + n('closedShed');
  assert.equal(n('accepted'), n('open') + closed, `${what}: accepted = open + closed by reason (${JSON.stringify(s)})`);
}
