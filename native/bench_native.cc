// The native-loop peer of bench/port.ts: the same driver queue, pool and slots
// as the JS loop, driven by a C++ loop, so the benchmark can print JS/native.
// The loop does the slot bookkeeping a native consumer does too (and the JS
// path does through BufferPool): frames received are freed and their slots
// replaced, frames to send are taken from the pool and given back once sent,
// through a LIFO free stack like BufferPool's.
#include <time.h>

#include "common.h"

namespace vg {
namespace {

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

// Runs `step` (one burst, returns frames moved or -errno) until `frames` moved,
// the time is up, or (stop_on_empty) a burst moved nothing; the clock is read
// every 64 calls.
template <typename Step>
BenchResult run(uint64_t frames, uint64_t timeout_ns, bool stop_on_empty, Step step) {
  BenchResult r;
  uint64_t t0 = now_ns(), deadline = t0 + timeout_ns;
  while (r.frames < frames) {
    int k = step();
    r.calls++;
    if (k < 0 || (k == 0 && stop_on_empty)) break;
    r.frames += uint64_t(k);
    if ((r.calls & 63) == 0 && now_ns() >= deadline) break;
  }
  r.ns = now_ns() - t0;
  return r;
}

// The slots the loop owns, as a free stack.
struct SlotStack {
  int32_t s[kMaxBurst];
  int top = 0;
};

}  // namespace

BenchResult bench_tx(QueueDriver& q, const PoolRef& pool, int32_t* slots, int burst, uint64_t frames,
                     uint64_t timeout_ns) {
  SlotStack free;
  const uint16_t len = pool.data_len[slots[0]];
  for (int i = 0; i < burst; i++) free.s[free.top++] = slots[i];
  return run(frames, timeout_ns, false, [&] {
    for (int i = 0; i < burst; i++) {
      int32_t s = free.s[--free.top];
      pool.data_len[s] = len;
      slots[i] = s;
    }
    int k = q.tx(pool, slots, burst);
    for (int i = 0; i < burst; i++) free.s[free.top++] = slots[i];
    return k;
  });
}

BenchResult bench_rx(QueueDriver& q, const PoolRef& pool, int32_t* slots, int burst, uint64_t frames,
                     uint64_t timeout_ns) {
  SlotStack free;
  return run(frames, timeout_ns, true, [&] {
    int k = q.rx(pool, slots, burst);
    for (int i = 0; i < k; i++) free.s[free.top++] = slots[i];
    for (int i = 0; i < k; i++) {
      int32_t s = free.s[--free.top];
      pool.data_len[s] = 0;
      slots[i] = s;
    }
    return k;
  });
}

}  // namespace vg
