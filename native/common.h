// Helpers shared by the kernel-socket drivers (af_packet, tap): option parsing,
// network-namespace scoping, interface lookup and the RX fix-ups that turn what
// the kernel hands over into plain wire frames (VLAN tag re-insertion, partial
// checksum completion).
#pragma once
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "driver.h"

namespace vg {

// Largest burst one rx/tx call moves (MAX_BURST in src/port/native.ts).
constexpr int kMaxBurst = 256;

inline int64_t clock_ns(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Turns the kernel's CLOCK_REALTIME packet stamps of one burst (receive
// stamps, PoolRef::rx_us, or a transmit stamp) into CLOCK_MONOTONIC and the
// caller's clock: one REALTIME read between two MONOTONIC reads per burst, at
// its first stamp, so a step of the wall clock between bursts does not skew
// them. The offset is taken at the pair's midpoint, and a pair the thread was
// preempted inside is read again: a lone pair would carry the preemption into
// every stamp of the burst (frames received before the SYN that they answer).
// A frame without a stamp, or with one from the future, gets the time of the read.
struct KernelStampClock {
  int64_t mono = 0, off = 0;
  bool ready = false;
  int64_t mono_ns(int64_t rt_ns) {
    if (!ready) {
      int64_t best = INT64_MAX;
      for (int i = 0; i < 4 && best > 2000; i++) {
        int64_t a = clock_ns(CLOCK_MONOTONIC);
        int64_t r = clock_ns(CLOCK_REALTIME);
        int64_t b = clock_ns(CLOCK_MONOTONIC);
        if (b - a < best) {
          best = b - a;
          mono = b;
          off = a + (b - a) / 2 - r;
        }
      }
      ready = true;
    }
    int64_t t = rt_ns + off;
    return rt_ns == 0 || t > mono ? mono : t;
  }
  double us(const PoolRef& pool, int64_t rt_ns) { return double(mono_ns(rt_ns) - pool.clock_origin_ns) * 1e-3; }
};

// "what: strerror(e)".
inline std::string errno_text(const std::string& what, int e) { return what + ": " + std::strerror(e); }

// The value of option `key`, or `def` when absent.
inline std::string opt_str(const Options& o, const char* key, const std::string& def) {
  auto it = o.find(key);
  return it == o.end() ? def : it->second;
}

// Parses option `key` as an unsigned integer in [lo, hi]; false (and err set) when invalid.
inline bool opt_uint(const Options& o, const char* key, uint32_t def, uint32_t lo, uint32_t hi, uint32_t& out,
                     std::string& err) {
  auto it = o.find(key);
  if (it == o.end()) {
    out = def;
    return true;
  }
  char* end = nullptr;
  errno = 0;
  unsigned long v = std::strtoul(it->second.c_str(), &end, 0);
  if (it->second.empty() || *end != 0 || errno != 0 || v < lo || v > hi) {
    err = std::string("option ") + key + "=" + it->second + " is not an integer in " + std::to_string(lo) + ".." +
          std::to_string(hi);
    return false;
  }
  out = uint32_t(v);
  return true;
}

// Parses option `key` as a boolean (1/0/true/false/yes/no/on/off).
inline bool opt_bool(const Options& o, const char* key, bool def, bool& out, std::string& err) {
  auto it = o.find(key);
  if (it == o.end()) {
    out = def;
    return true;
  }
  const std::string& v = it->second;
  if (v == "1" || v == "true" || v == "yes" || v == "on" || v.empty()) {
    out = true;
  } else if (v == "0" || v == "false" || v == "no" || v == "off") {
    out = false;
  } else {
    err = std::string("option ") + key + "=" + v + " is not a boolean";
    return false;
  }
  return true;
}

// Parses "aa:bb:cc:dd:ee:ff" into mac; false when malformed.
inline bool parse_mac(const std::string& s, uint8_t mac[6]) {
  unsigned b[6];
  char tail;
  if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
    return false;
  for (int i = 0; i < 6; i++) mac[i] = uint8_t(b[i]);
  return true;
}

// Enters network namespace /var/run/netns/<name> on the calling thread for the
// lifetime of the object (sockets and tap devices created meanwhile stay in it),
// then returns to the original one. An empty name does nothing.
class NetnsScope {
 public:
  NetnsScope(const std::string& name, std::string& err) {
    if (name.empty()) return;
    ok_ = false;
    if (name.find('/') != std::string::npos) {
      err = "netns name '" + name + "' must not contain '/'";
      return;
    }
    orig_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (orig_ < 0) {
      err = errno_text("open /proc/thread-self/ns/net", errno);
      return;
    }
    int fd = ::open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      err = errno == ENOENT ? "network namespace '" + name + "' not found" : errno_text("open netns " + name, errno);
      return;
    }
    int r = ::setns(fd, CLONE_NEWNET);
    int e = errno;
    ::close(fd);
    if (r != 0) {
      err = e == EPERM ? "entering netns '" + name + "' needs root (CAP_SYS_ADMIN)" : errno_text("setns " + name, e);
      return;
    }
    ok_ = true;
  }
  ~NetnsScope() {
    if (orig_ < 0) return;
    if (ok_) ::setns(orig_, CLONE_NEWNET);
    ::close(orig_);
  }
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;
  bool ok() const { return ok_; }

 private:
  int orig_ = -1;
  bool ok_ = true;
};

// Fills ifr with the interface name; false (err set) when it does not fit.
inline bool ifreq_for(const std::string& ifname, ifreq& ifr, std::string& err) {
  std::memset(&ifr, 0, sizeof ifr);
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
    err = "interface name '" + ifname + "' must be 1.." + std::to_string(IFNAMSIZ - 1) + " characters";
    return false;
  }
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  return true;
}

// Reads ifindex, MAC and MTU of interface `ifname` in the current namespace
// through socket `fd`. Sets err ("interface 'x' not found") on failure.
inline bool read_iface(int fd, const std::string& ifname, int& ifindex, PortCaps& caps, std::string& err) {
  ifreq ifr;
  if (!ifreq_for(ifname, ifr, err)) return false;
  if (::ioctl(fd, SIOCGIFINDEX, &ifr) != 0) {
    err = errno == ENODEV ? "interface '" + ifname + "' not found" : errno_text("SIOCGIFINDEX " + ifname, errno);
    return false;
  }
  ifindex = ifr.ifr_ifindex;
  if (::ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
    err = errno_text("SIOCGIFHWADDR " + ifname, errno);
    return false;
  }
  std::memcpy(caps.mac, ifr.ifr_hwaddr.sa_data, 6);
  if (::ioctl(fd, SIOCGIFMTU, &ifr) != 0) {
    err = errno_text("SIOCGIFMTU " + ifname, errno);
    return false;
  }
  caps.mtu = uint32_t(ifr.ifr_mtu);
  return true;
}

// Sets IFF_UP on the interface.
inline bool iface_up(int fd, const std::string& ifname, std::string& err) {
  ifreq ifr;
  if (!ifreq_for(ifname, ifr, err)) return false;
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
    err = errno_text("SIOCGIFFLAGS " + ifname, errno);
    return false;
  }
  if (ifr.ifr_flags & IFF_UP) return true;
  ifr.ifr_flags = short(ifr.ifr_flags | IFF_UP);
  if (::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
    err = errno_text("bringing " + ifname + " up", errno);
    return false;
  }
  return true;
}

// Re-inserts an 802.1Q/802.1ad tag that the kernel stripped into the frame of
// `len` bytes at `frame` (IEEE 802.1Q-2018 9.3: the tag follows the source
// MAC). The caller guarantees 4 bytes of writable headroom before `frame`;
// returns the new start (frame - 4).
inline uint8_t* insert_vlan_tag(uint8_t* frame, uint16_t tpid, uint16_t tci) {
  uint8_t* p = frame - 4;
  std::memmove(p, frame, 12);
  p[12] = uint8_t(tpid >> 8);
  p[13] = uint8_t(tpid);
  p[14] = uint8_t(tci >> 8);
  p[15] = uint8_t(tci);
  return p;
}

// Completes the TCP or UDP checksum of an IPv4 frame whose sender left it
// partial (checksum offload: TP_STATUS_CSUMNOTREADY on AF_PACKET). The field
// is recomputed from scratch over pseudo-header and segment (RFC 793 3.1,
// RFC 768), so it does not matter what the partial value held. Frames that are
// not IPv4 TCP/UDP, or are fragments, are left as they are.
inline void complete_l4_checksum(uint8_t* frame, uint32_t len) {
  uint32_t l3 = 14;
  if (len < l3 + 20) return;
  uint16_t type = uint16_t(frame[12] << 8 | frame[13]);
  while ((type == 0x8100 || type == 0x88a8) && len >= l3 + 4 + 20) {
    type = uint16_t(frame[l3 + 2] << 8 | frame[l3 + 3]);
    l3 += 4;
  }
  const uint8_t* ip = frame + l3;
  if (type != 0x0800 || (ip[0] >> 4) != 4) return;
  uint32_t ihl = uint32_t(ip[0] & 0x0f) * 4;
  uint32_t total = uint32_t(ip[2] << 8 | ip[3]);
  // Fragments carry no complete L4 segment to sum (RFC 791 3.2).
  if ((ip[6] & 0x3f) != 0 || ip[7] != 0) return;
  if (ihl < 20 || total < ihl || l3 + total > len) return;
  uint8_t proto = ip[9];
  uint32_t seg = total - ihl;
  uint32_t field;
  if (proto == 6 && seg >= 20) {
    field = 16;
  } else if (proto == 17 && seg >= 8) {
    field = 6;
  } else {
    return;
  }
  uint8_t* l4 = frame + l3 + ihl;
  l4[field] = 0;
  l4[field + 1] = 0;
  uint64_t sum = 0;
  for (int i = 12; i < 20; i += 2) sum += uint32_t(ip[i] << 8 | ip[i + 1]);  // source, destination
  sum += proto;
  sum += seg;
  uint32_t i = 0;
  for (; i + 1 < seg; i += 2) sum += uint32_t(l4[i] << 8 | l4[i + 1]);
  if (i < seg) sum += uint32_t(l4[i] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t c = uint16_t(~sum);
  if (proto == 17 && c == 0) c = 0xffff;  // RFC 768: zero means "no checksum"
  l4[field] = uint8_t(c >> 8);
  l4[field + 1] = uint8_t(c);
}

// Thread affinity (affinity.cc): pins the calling thread to one CPU; reads the
// calling thread's CPU set.
bool pin_thread(int cpu, std::string& err);
bool thread_affinity(std::vector<int>& cpus, std::string& err);

// The native-loop peer of bench/port.ts (bench_native.cc): drives one queue
// from C++ with the same pool and slots as the JS loop, for a bounded number of
// frames or time, with the same per-frame slot bookkeeping.
struct BenchResult {
  uint64_t frames = 0, calls = 0, ns = 0;
};
// Sends bursts of `burst` frames (slots[0..burst) hold the frame to repeat)
// until `frames` were accepted or `timeout_ns` passed.
BenchResult bench_tx(QueueDriver& q, const PoolRef& pool, int32_t* slots, int burst, uint64_t frames,
                     uint64_t timeout_ns);
// Drains the queue: receives into slots[0..burst), frees and replaces what
// arrived, until `frames` arrived, a burst comes back empty, or `timeout_ns` passed.
BenchResult bench_rx(QueueDriver& q, const PoolRef& pool, int32_t* slots, int burst, uint64_t frames,
                     uint64_t timeout_ns);

}  // namespace vg
