// Contract between the N-API glue (addon.cc) and each packet-I/O driver.
// Drivers move frames between a NIC queue and the worker's slot pool; they hold
// no protocol logic. One call moves a whole burst.
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace vg {

using Options = std::map<std::string, std::string>;

// The worker's buffer pool as seen from C: slot i's frame starts at
// base + i * slot_size + data_off[i] and is data_len[i] bytes long. Received
// frames start at `headroom` (the room in front lets the stack prepend headers).
struct PoolRef {
  uint8_t* base = nullptr;
  uint32_t slot_size = 0;
  uint32_t count = 0;
  uint32_t headroom = 0;
  uint16_t* data_off = nullptr;
  uint16_t* data_len = nullptr;
  // When set and the driver has receive timestamps, it writes each received
  // frame's to rx_us[slot], in µs of CLOCK_MONOTONIC minus clock_origin_ns
  // (the caller's clock; KernelStampClock in common.h converts).
  double* rx_us = nullptr;
  int64_t clock_origin_ns = 0;
};

struct PortCaps {
  uint8_t mac[6] = {0, 0, 0, 0, 0, 0};
  uint32_t mtu = 1500;
  uint32_t max_queues = 1;
  bool tx_csum_offload = false;   // the NIC/kernel fills L3/L4 checksums on TX
  bool rx_csum_validated = false; // RX frames may carry partial checksums that were validated
  bool rx_vlan_strip = false;     // RX VLAN tags arrive out of band and are re-inserted by the driver
};

struct QueueStats {
  uint64_t rx_frames = 0, rx_bytes = 0, rx_dropped = 0;
  uint64_t tx_frames = 0, tx_bytes = 0, tx_dropped = 0;
};

// One queue of one port, owned by one worker thread.
class QueueDriver {
 public:
  virtual ~QueueDriver() = default;
  // Receives up to n frames into slots[0..n) (allocated by the caller, checked
  // against the pool), in order: each frame lands at the pool's headroom, and
  // the driver sets data_off (lowered to re-insert a VLAN tag) and data_len of
  // the slots it used. Returns the number received (0 when none), or -errno.
  virtual int rx(const PoolRef& pool, const int32_t* slots, int n) = 0;
  // Whether rx() writes the kernel's receive time of each frame to pool.rx_us
  // (else the caller uses its own clock).
  virtual bool rx_timestamps() const { return false; }
  // Transmits slots[0..n); returns how many were accepted (a prefix), or -errno.
  // Accepted frames are copied or queued; the caller frees their slots.
  virtual int tx(const PoolRef& pool, const int32_t* slots, int n) = 0;
  // Whether tx_stamped() can report when the device took the first frame.
  virtual bool tx_timestamps() const { return false; }
  // tx(), and the device's software transmit stamp of the first frame sent
  // (CLOCK_REALTIME ns) in rt_ns, or 0 when none came back.
  virtual int tx_stamped(const PoolRef& pool, const int32_t* slots, int n, int64_t& rt_ns) {
    rt_ns = 0;
    return tx(pool, slots, n);
  }
  // A file descriptor that becomes readable when frames wait, or -1.
  virtual int wait_fd() const { return -1; }
  virtual QueueStats stats() const = 0;
  virtual void close() = 0;
};

// One port (an interface, a DPDK port); opens its queues.
class PortDriver {
 public:
  virtual ~PortDriver() = default;
  virtual const PortCaps& caps() const = 0;
  virtual uint32_t queue_count() const = 0;
  // Returns nullptr and sets err on failure.
  virtual QueueDriver* open_queue(uint32_t q, std::string& err) = 0;
  virtual void close() = 0;
};

// Factories, one per driver; each returns nullptr and sets err (a sentence that
// names the problem: missing interface, permission, hugepages...) on failure.
PortDriver* open_af_packet(const Options& opts, std::string& err);
PortDriver* open_tap(const Options& opts, std::string& err);
#ifdef VG_HAVE_AF_XDP
PortDriver* open_af_xdp(const Options& opts, std::string& err);
#endif
#ifdef VG_HAVE_DPDK
// eal_args are passed to rte_eal_init verbatim (argv[0] is supplied by the driver).
PortDriver* open_dpdk(const Options& opts, const std::string& eal_args, std::string& err);
#endif

}  // namespace vg
