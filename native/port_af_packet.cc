// The af_packet driver: one AF_PACKET socket per queue, bound to an interface
// (which needs no IP address). RX reads a TPACKET_V2 ring (no system call while
// frames wait) or, with rx=mmsg, recvmmsg with PACKET_AUXDATA; TX is sendmmsg
// with PACKET_QDISC_BYPASS. The ring's frames carry the kernel's receive time
// (tp_sec/tp_nsec, CLOCK_REALTIME), written to pool.rx_us per slot. Where the
// device stamps transmits in software (veth and most NIC drivers call
// skb_tx_timestamp), the ring's socket also asks for the first frame of a
// stamped burst's transmit time, which comes back on the error queue inside the
// same call. With
// queues=N the sockets join one PACKET_FANOUT_HASH group: the kernel's flow
// hash is symmetric, so both directions of a flow land on the same queue, like
// symmetric RSS. promisc=1 adds a PACKET_MR_PROMISC
// membership per queue socket, for physical NICs that filter by MAC.
//
// What the kernel hands over is turned back into wire frames:
// - VLAN tags stripped into metadata (TP_STATUS_VLAN_VALID) are re-inserted in
//   the slot's headroom (data_off lowered by 4).
// - Partial checksums (TP_STATUS_CSUMNOTREADY, a kernel peer with TX checksum
//   offload, the default on veth) are completed in place.
// - GSO super-frames (a kernel peer with TSO/GSO on veth) are larger than a
//   slot: they are dropped and counted in rx_dropped. Peers should run
//   `ethtool -K <veth> tx off` (which also turns off TSO), as the tests do.
#include <time.h>  // before linux/errqueue.h, which uses struct timespec

#include <linux/errqueue.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/net_tstamp.h>
#include <linux/sockios.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "common.h"

namespace vg {
namespace {

constexpr uint32_t kRingFrameSize = 2048;  // one RX ring frame: tpacket2_hdr + sockaddr_ll + frame
constexpr uint32_t kRingPrefetch = 4;  // frames fetched ahead of the one being read
constexpr uint32_t kRingBlockSize = 1u << 16;
constexpr int64_t kWarmTxNs = 100000;  // a send within 100 µs of the last one finds the path warm

struct Config {
  std::string iface, netns;
  uint32_t queues = 1, ring_frames = 8192, rcvbuf = 4u << 20, sndbuf = 4u << 20, fanout_group = 0;
  bool ring = true, bypass = true, promisc = false, tx_stamps = true;
};

// Turns a frame received into slot `s` (at the headroom, `len` bytes) into the
// wire frame: re-inserts a stripped VLAN tag and completes a partial checksum.
// False when the frame must be dropped.
inline bool finish_rx(const PoolRef& pool, int32_t s, uint32_t len, uint32_t status, uint16_t tci, uint16_t tpid) {
  uint32_t off = pool.headroom;
  bool vlan = (status & TP_STATUS_VLAN_VALID) != 0;
  if (len < 14 || (vlan && off < 4)) return false;
  uint8_t* frame = pool.base + size_t(s) * pool.slot_size + off;
  if (vlan) {
    frame = insert_vlan_tag(frame, (status & TP_STATUS_VLAN_TPID_VALID) ? tpid : ETH_P_8021Q, tci);
    off -= 4;
    len += 4;
  }
  if (status & TP_STATUS_CSUMNOTREADY) complete_l4_checksum(frame, len);
  pool.data_off[s] = uint16_t(off);
  pool.data_len[s] = uint16_t(len);
  return true;
}

// Copies `len` bytes of frame data into slot `s` at the headroom; false when it does not fit.
inline bool copy_in(const PoolRef& pool, int32_t s, const uint8_t* data, uint32_t len) {
  uint32_t off = pool.headroom;
  if (off + len > pool.slot_size) return false;
  std::memcpy(pool.base + size_t(s) * pool.slot_size + off, data, len);
  return true;
}

class AfPacketQueue : public QueueDriver {
 public:
  AfPacketQueue(int fd, uint8_t* ring, size_t ring_size, uint32_t frame_nr, bool tx_stamps)
      : fd_(fd), ring_(ring), ring_size_(ring_size), frame_nr_(frame_nr), tx_stamps_(tx_stamps) {
    std::memset(tx_msgs_, 0, sizeof tx_msgs_);
    std::memset(tx_ctl_, 0, sizeof tx_ctl_);
    // The per-message request: a software transmit stamp of this frame only
    // (the socket's SO_TIMESTAMPING holds the reporting flags, no record flag).
    cmsghdr* c = reinterpret_cast<cmsghdr*>(tx_ctl_);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SO_TIMESTAMPING;
    c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
    uint32_t rec = SOF_TIMESTAMPING_TX_SOFTWARE;
    std::memcpy(CMSG_DATA(c), &rec, sizeof rec);
    std::memset(rx_msgs_, 0, sizeof rx_msgs_);
    for (int i = 0; i < kMaxBurst; i++) {
      tx_msgs_[i].msg_hdr.msg_iov = &tx_iov_[i];
      tx_msgs_[i].msg_hdr.msg_iovlen = 1;
      rx_msgs_[i].msg_hdr.msg_iov = &rx_iov_[i];
      rx_msgs_[i].msg_hdr.msg_iovlen = 1;
      rx_msgs_[i].msg_hdr.msg_control = rx_ctl_[i];
    }
  }
  ~AfPacketQueue() override { close(); }

  int rx(const PoolRef& pool, const int32_t* slots, int n) override {
    if (fd_ < 0) return -EBADF;
    if (n > kMaxBurst) n = kMaxBurst;
    return ring_ ? rx_ring(pool, slots, n) : rx_mmsg(pool, slots, n);
  }

  int tx(const PoolRef& pool, const int32_t* slots, int n) override {
    if (fd_ < 0) return -EBADF;
    if (n > kMaxBurst) n = kMaxBurst;
    for (int i = 0; i < n; i++) {
      int32_t s = slots[i];
      tx_iov_[i].iov_base = pool.base + size_t(s) * pool.slot_size + pool.data_off[s];
      tx_iov_[i].iov_len = pool.data_len[s];
    }
    int done = 0;
    while (done < n) {
      int r = ::sendmmsg(fd_, tx_msgs_ + done, unsigned(n - done), MSG_DONTWAIT);
      if (r > 0) {
        for (int i = done; i < done + r; i++) st_.tx_bytes += tx_iov_[i].iov_len;
        st_.tx_frames += uint64_t(r);
        done += r;
        continue;
      }
      int e = errno;
      // Full device queue or socket buffer: the rest stays with the caller.
      if (e == EAGAIN || e == ENOBUFS || e == EINTR) break;
      // The frame itself is bad (larger than the MTU, shorter than a header, link down):
      // a NIC drops it and goes on.
      if (e == EMSGSIZE || e == EINVAL || e == ENETDOWN || e == ENXIO) {
        st_.tx_dropped++;
        done++;
        continue;
      }
      return done > 0 ? done : -e;
    }
    return done;
  }

  bool tx_timestamps() const override { return tx_stamps_; }

  int tx_stamped(const PoolRef& pool, const int32_t* slots, int n, int64_t& rt_ns) override {
    rt_ns = 0;
    if (!tx_stamps_) return tx(pool, slots, n);
    int64_t not_before = clock_ns(CLOCK_REALTIME);
    // Right after another send the path is warm and the hand-over time is
    // within a few µs of the device's: the stamp (an error-queue read, 3-6%
    // of a busy client's CPU) is asked for only after a quiet stretch.
    int64_t quiet = not_before - last_tx_rt_;
    last_tx_rt_ = not_before;
    if (quiet < kWarmTxNs) return tx(pool, slots, n);
    msghdr& first = tx_msgs_[0].msg_hdr;
    first.msg_control = tx_ctl_;
    first.msg_controllen = sizeof tx_ctl_;
    int done = tx(pool, slots, n);
    first.msg_control = nullptr;
    first.msg_controllen = 0;
    if (done > 0) rt_ns = take_tx_stamp(not_before);
    return done;
  }

  int wait_fd() const override { return fd_; }

  // recvmmsg would need SO_TIMESTAMPNS and a control message per frame: only the ring has them.
  bool rx_timestamps() const override { return ring_ != nullptr; }

  QueueStats stats() const override {
    // The kernel's drop counter (ring or socket buffer full) resets on read.
    tpacket_stats ks{};
    socklen_t kl = sizeof ks;
    if (fd_ >= 0 && ::getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &ks, &kl) == 0) st_.rx_dropped += ks.tp_drops;
    return st_;
  }

  void close() override {
    if (ring_) ::munmap(ring_, ring_size_);
    ring_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int rx_ring(const PoolRef& pool, const int32_t* slots, int n) {
    int got = 0;
    KernelStampClock rc;
    while (got < n) {
      auto* h = reinterpret_cast<tpacket2_hdr*>(ring_ + size_t(head_) * kRingFrameSize);
      uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
      if (!(status & TP_STATUS_USER)) break;
      // The ring is cold where the kernel wrote it: start fetching a few frames
      // ahead (header and a small frame's data) to overlap the misses.
      uint32_t ahead = head_ + kRingPrefetch;
      const uint8_t* next = ring_ + size_t(ahead < frame_nr_ ? ahead : ahead - frame_nr_) * kRingFrameSize;
      __builtin_prefetch(next);
      __builtin_prefetch(next + 64);
      __builtin_prefetch(next + 128);
      const uint8_t* data = reinterpret_cast<const uint8_t*>(h) + h->tp_mac;
      int32_t s = slots[got];
      // tp_len > tp_snaplen: truncated to the ring frame (a GSO super-frame).
      if (h->tp_len == h->tp_snaplen && copy_in(pool, s, data, h->tp_len) &&
          finish_rx(pool, s, h->tp_len, status, h->tp_vlan_tci, h->tp_vlan_tpid)) {
        st_.rx_bytes += pool.data_len[s];
        if (pool.rx_us) pool.rx_us[s] = rc.us(pool, int64_t(h->tp_sec) * 1000000000 + int64_t(h->tp_nsec));
        got++;
      } else {
        st_.rx_dropped++;
      }
      __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
      if (++head_ == frame_nr_) head_ = 0;
    }
    st_.rx_frames += uint64_t(got);
    return got;
  }

  // The burst's transmit stamp from the error queue, or 0. The device stamps
  // inside the send call, so it is there already; one an earlier burst left
  // late is older than `not_before` and skipped.
  int64_t take_tx_stamp(int64_t not_before) {
    for (int i = 0; i < 4; i++) {
      alignas(cmsghdr) uint8_t ctl[CMSG_SPACE(sizeof(scm_timestamping)) + CMSG_SPACE(sizeof(sock_extended_err) + sizeof(sockaddr_ll))];
      msghdr m{};
      m.msg_control = ctl;
      m.msg_controllen = sizeof ctl;
      if (::recvmsg(fd_, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
      for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_TIMESTAMPING) continue;
        scm_timestamping ts;
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        int64_t t = int64_t(ts.ts[0].tv_sec) * 1000000000 + ts.ts[0].tv_nsec;
        if (t >= not_before) return t;
      }
    }
    return 0;
  }

  int rx_mmsg(const PoolRef& pool, const int32_t* slots, int n) {
    for (int i = 0; i < n; i++) {
      int32_t s = slots[i];
      rx_iov_[i].iov_base = pool.base + size_t(s) * pool.slot_size + pool.headroom;
      rx_iov_[i].iov_len = pool.slot_size - pool.headroom;
      rx_msgs_[i].msg_hdr.msg_controllen = sizeof rx_ctl_[i];
      rx_msgs_[i].msg_hdr.msg_flags = 0;
    }
    int r = ::recvmmsg(fd_, rx_msgs_, unsigned(n), MSG_DONTWAIT, nullptr);
    if (r < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
    int got = 0;
    for (int i = 0; i < r; i++) {
      const msghdr& m = rx_msgs_[i].msg_hdr;
      const tpacket_auxdata* aux = nullptr;
      for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&m), c))
        if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA)
          aux = reinterpret_cast<const tpacket_auxdata*>(CMSG_DATA(c));
      uint32_t len = rx_msgs_[i].msg_len;
      int32_t dst = slots[got];
      // Received in place; after a drop, later frames move down so the caller gets slots[0..got).
      bool ok = !(m.msg_flags & MSG_TRUNC) &&
                (dst == slots[i] || copy_in(pool, dst, static_cast<const uint8_t*>(rx_iov_[i].iov_base), len)) &&
                finish_rx(pool, dst, len, aux ? aux->tp_status : 0, aux ? aux->tp_vlan_tci : 0,
                          aux ? aux->tp_vlan_tpid : 0);
      if (ok) {
        st_.rx_bytes += pool.data_len[dst];
        got++;
      } else {
        st_.rx_dropped++;
      }
    }
    st_.rx_frames += uint64_t(got);
    return got;
  }

  int fd_;
  uint8_t* ring_;
  size_t ring_size_;
  uint32_t frame_nr_;
  uint32_t head_ = 0;
  bool tx_stamps_;
  int64_t last_tx_rt_ = 0;
  mutable QueueStats st_;
  alignas(cmsghdr) uint8_t tx_ctl_[CMSG_SPACE(sizeof(uint32_t))];
  mmsghdr tx_msgs_[kMaxBurst];
  iovec tx_iov_[kMaxBurst];
  mmsghdr rx_msgs_[kMaxBurst];
  iovec rx_iov_[kMaxBurst];
  alignas(cmsghdr) uint8_t rx_ctl_[kMaxBurst][CMSG_SPACE(sizeof(tpacket_auxdata))];
};

class AfPacketPort : public PortDriver {
 public:
  AfPacketPort(Config cfg, int ifindex, PortCaps caps) : cfg_(std::move(cfg)), ifindex_(ifindex), caps_(caps) {}
  ~AfPacketPort() override = default;
  const PortCaps& caps() const override { return caps_; }
  uint32_t queue_count() const override { return cfg_.queues; }

  QueueDriver* open_queue(uint32_t q, std::string& err) override {
    if (q >= cfg_.queues) {
      err = "af_packet port " + cfg_.iface + " has no queue " + std::to_string(q);
      return nullptr;
    }
    NetnsScope ns(cfg_.netns, err);
    if (!ns.ok()) return nullptr;
    // Protocol 0: the socket receives nothing until bind() names the interface.
    int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      err = errno == EPERM ? "af_packet needs root or CAP_NET_RAW" : errno_text("socket(AF_PACKET)", errno);
      return nullptr;
    }
    uint8_t* ring = nullptr;
    size_t ring_size = 0;
    uint32_t frame_nr = 0;
    auto fail = [&](const std::string& what) {
      err = errno_text("af_packet " + cfg_.iface + ": " + what, errno);
      if (ring) ::munmap(ring, ring_size);
      ::close(fd);
      return nullptr;
    };
    int one = 1;
    // Frames the host itself sends on the interface are not the wire's RX.
    if (::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0)
      return fail("PACKET_IGNORE_OUTGOING");
    if (cfg_.bypass && ::setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0)
      return fail("PACKET_QDISC_BYPASS");
    int rcv = int(cfg_.rcvbuf), snd = int(cfg_.sndbuf);
    // SO_*BUFFORCE needs CAP_NET_ADMIN; the plain call is capped by net.core.*mem_max.
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0)
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd) != 0)
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
    if (cfg_.ring) {
      int v = TPACKET_V2;
      if (::setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) != 0) return fail("PACKET_VERSION");
      tpacket_req req{};
      req.tp_block_size = kRingBlockSize;
      req.tp_frame_size = kRingFrameSize;
      req.tp_block_nr = (cfg_.ring_frames * kRingFrameSize + kRingBlockSize - 1) / kRingBlockSize;
      req.tp_frame_nr = req.tp_block_nr * (kRingBlockSize / kRingFrameSize);
      if (::setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0) return fail("PACKET_RX_RING");
      ring_size = size_t(req.tp_block_nr) * req.tp_block_size;
      void* m = ::mmap(nullptr, ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
      if (m == MAP_FAILED) return fail("mmap RX ring");
      ring = static_cast<uint8_t*>(m);
      frame_nr = req.tp_frame_nr;
    } else if (::setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) != 0) {
      return fail("PACKET_AUXDATA");
    }
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex_;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) return fail("bind");
    if (cfg_.promisc) {
      // A membership raises the device's promiscuity count while this socket
      // lives; the kernel drops it when the socket closes (packet(7)), so a
      // crash cannot leave the NIC promiscuous. veth delivers every frame anyway.
      packet_mreq mr{};
      mr.mr_ifindex = ifindex_;
      mr.mr_type = PACKET_MR_PROMISC;
      if (::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0) return fail("PACKET_MR_PROMISC");
    }
    if (cfg_.queues > 1) {
      // PACKET_FANOUT_HASH: flow hash, symmetric in addresses and ports; DEFRAG keeps
      // IP fragments with their flow.
      int arg = int(cfg_.fanout_group | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16));
      if (::setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) return fail("PACKET_FANOUT");
    }
    // Transmit stamps pair with the ring's receive stamps; without the ring
    // there is no kernel clock on the other side of a figure.
    bool tx_stamps = cfg_.tx_stamps && ring != nullptr && device_stamps_tx(fd);
    if (tx_stamps) {
      uint32_t report = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_TSONLY;
      tx_stamps = ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &report, sizeof report) == 0;
    }
    return new AfPacketQueue(fd, ring, ring_size, frame_nr, tx_stamps);
  }

  void close() override {}

 private:
  // Whether the device stamps transmits in software (ethtool -T: software-transmit).
  bool device_stamps_tx(int fd) const {
    ethtool_ts_info info{};
    info.cmd = ETHTOOL_GET_TS_INFO;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, cfg_.iface.c_str(), IFNAMSIZ - 1);
    ifr.ifr_data = reinterpret_cast<char*>(&info);
    return ::ioctl(fd, SIOCETHTOOL, &ifr) == 0 && (info.so_timestamping & SOF_TIMESTAMPING_TX_SOFTWARE) != 0;
  }

  Config cfg_;
  int ifindex_;
  PortCaps caps_;
};

}  // namespace

PortDriver* open_af_packet(const Options& opts, std::string& err) {
  Config cfg;
  cfg.iface = opt_str(opts, "iface", "");
  cfg.netns = opt_str(opts, "netns", "");
  if (cfg.iface.empty()) {
    err = "af_packet needs an interface: af_packet:iface=<name>";
    return nullptr;
  }
  std::string rx = opt_str(opts, "rx", "ring");
  if (rx != "ring" && rx != "mmsg") {
    err = "af_packet option rx=" + rx + " must be ring or mmsg";
    return nullptr;
  }
  cfg.ring = rx == "ring";
  if (!opt_uint(opts, "queues", 1, 1, 64, cfg.queues, err) ||
      !opt_uint(opts, "ring_frames", 8192, 64, 1u << 20, cfg.ring_frames, err) ||
      !opt_uint(opts, "rcvbuf", 4u << 20, 0, 1u << 30, cfg.rcvbuf, err) ||
      !opt_uint(opts, "sndbuf", 4u << 20, 0, 1u << 30, cfg.sndbuf, err) ||
      !opt_bool(opts, "qdisc_bypass", true, cfg.bypass, err) || !opt_bool(opts, "promisc", false, cfg.promisc, err) ||
      !opt_bool(opts, "tx_stamps", true, cfg.tx_stamps, err)) {
    err = "af_packet: " + err;
    return nullptr;
  }
  NetnsScope ns(cfg.netns, err);
  if (!ns.ok()) return nullptr;
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = errno_text("socket", errno);
    return nullptr;
  }
  PortCaps caps;
  int ifindex = 0;
  bool ok = read_iface(fd, cfg.iface, ifindex, caps, err);
  ::close(fd);
  if (!ok) {
    err = "af_packet: " + err + (cfg.netns.empty() ? "" : " in netns " + cfg.netns);
    return nullptr;
  }
  std::string mac = opt_str(opts, "mac", "");
  if (!mac.empty() && !parse_mac(mac, caps.mac)) {
    err = "af_packet option mac=" + mac + " is not aa:bb:cc:dd:ee:ff";
    return nullptr;
  }
  // One fanout group per port in this process: queues opened by different
  // threads of this process join the same group.
  uint32_t group = (uint32_t(::getpid()) * 31u + uint32_t(ifindex)) & 0xffff;
  if (!opt_uint(opts, "fanout_group", group, 0, 0xffff, cfg.fanout_group, err)) {
    err = "af_packet: " + err;
    return nullptr;
  }
  caps.max_queues = cfg.queues;
  caps.rx_vlan_strip = true;
  return new AfPacketPort(std::move(cfg), ifindex, caps);
}

}  // namespace vg
