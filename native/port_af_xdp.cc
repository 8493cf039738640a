// AF_XDP driver: one XSK socket per queue, each with its own UMEM split in two
// halves: RX frames cycle through the fill ring, TX frames through the
// completion ring. Frames are copied between the UMEM and the worker's slots
// (64-byte frames cost less to copy than to track ownership across JS).
//
// The port attaches its own XDP program (redirect each RX queue to the socket
// in an XSKMAP, else pass to the kernel) and detaches it when the port and all
// its queues are closed. libxdp 1.3's built-in loader is not used: it leaks a
// program and a map descriptor per socket and wants a bpffs. Options:
//   iface=NAME      the interface (required)
//   queue=Q         first hardware queue (default 0); queues=N sockets on Q..Q+N-1
//   mode=copy|zerocopy|auto   XDP bind mode (default auto: zero-copy, else copy)
//   xdp=auto|native|skb       how the program is attached (default auto)
//   frames=N        UMEM frames per queue, a power of two >= 64 (default 4096)
//   netns=NAME      the interface lives in network namespace NAME
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include <chrono>
#include <cstdarg>
#include <memory>
#include <thread>

#include "common.h"

namespace vg {
namespace {

// 2048 is the smallest aligned-mode chunk; minus the kernel's 256-byte
// XDP_PACKET_HEADROOM it still holds a 1514-byte frame.
constexpr uint32_t kFrameSize = 2048;
constexpr uint32_t kPrefetch = 8;
constexpr uint64_t kFrameMask = ~static_cast<uint64_t>(kFrameSize - 1);
// A socket closed moments ago keeps its queue busy until the kernel frees it
// (~1 s measured); reopening retries this long.
constexpr int kBusyRetryMs = 3000;
constexpr int kBusyStepMs = 50;
// Copy-mode TX sends at most a budget of frames per sendto: 32 unless raised
// with XDP_MAX_TX_SKB_BUDGET (Linux 6.17+). Kicks are bounded so a stalled
// device cannot spin the caller.
constexpr int kMaxKicks = 8;
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9
#endif

// libxdp and libbpf print warnings to stderr. Keep the latest one and show it
// only when an open fails.
thread_local std::string last_lib_warning;

void keep_warning(const char* fmt, va_list ap) {
  char buf[256];
  vsnprintf(buf, sizeof buf, fmt, ap);
  last_lib_warning = buf;
  while (!last_lib_warning.empty() && last_lib_warning.back() == '\n') last_lib_warning.pop_back();
}
int xdp_print(libxdp_print_level level, const char* fmt, va_list ap) {
  if (level == LIBXDP_WARN) keep_warning(fmt, ap);
  return 0;
}
int bpf_print(libbpf_print_level level, const char* fmt, va_list ap) {
  if (level == LIBBPF_WARN) keep_warning(fmt, ap);
  return 0;
}
std::string lib_detail() { return last_lib_warning.empty() ? "" : " [" + last_lib_warning + "]"; }

// Number of RX queues the interface has now (not the maximum it could have).
uint32_t rx_queue_count(int fd, const std::string& ifname) {
  ethtool_channels ch{};
  ch.cmd = ETHTOOL_GCHANNELS;
  ifreq ifr;
  std::string err;
  if (!ifreq_for(ifname, ifr, err)) return 1;
  ifr.ifr_data = reinterpret_cast<char*>(&ch);
  if (ioctl(fd, SIOCETHTOOL, &ifr) != 0) return 1;
  uint32_t c = ch.combined_count > ch.rx_count ? ch.combined_count : ch.rx_count;
  return c > 0 ? c : 1;
}

struct XdpConfig {
  std::string iface, netns, mode;
  uint32_t first_queue = 0, queues = 1, frames = 4096, xdp_flags = 0;
  int ifindex = 0;
  uint32_t rx_queues = 1;  // the device's, which sizes the XSKMAP
};

std::string permission_hint(int e) {
  return e == EPERM || e == EACCES ? " (AF_XDP needs root, or CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF)" : "";
}

// The XDP program and its XSKMAP, shared by the port and its queues; the last
// owner to let go detaches the program.
class XskProgram {
 public:
  ~XskProgram() {
    if (prog_fd_ >= 0) {
      // Detach only our program (XDP_FLAGS_REPLACE), by ifindex in its namespace.
      std::string err;
      NetnsScope ns(netns_, err);
      bpf_xdp_attach_opts o{};
      o.sz = sizeof o;
      o.old_prog_fd = prog_fd_;
      bpf_xdp_detach(ifindex_, mode_flags_ | XDP_FLAGS_REPLACE, &o);
      ::close(prog_fd_);
    }
    if (map_fd_ >= 0) ::close(map_fd_);
  }

  // Loads and attaches; call inside the interface's namespace. "" or the reason.
  std::string attach(const XdpConfig& cfg) {
    netns_ = cfg.netns;
    ifindex_ = cfg.ifindex;
    map_fd_ = bpf_map_create(BPF_MAP_TYPE_XSKMAP, "vg_xsks", 4, 4, cfg.rx_queues, nullptr);
    if (map_fd_ < 0) return "af_xdp: " + errno_text("creating the XSKMAP", errno) + permission_hint(errno);
    // return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS): the low
    // bits of the flags are the action when the queue has no socket (Linux 5.3+).
    const bpf_insn prog[] = {
        {BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, static_cast<int16_t>(offsetof(xdp_md, rx_queue_index)), 0},
        {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd_},
        {0, 0, 0, 0, 0},
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, XDP_PASS},
        {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    prog_fd_ = bpf_prog_load(BPF_PROG_TYPE_XDP, "vg_xsk_redirect", "Dual MIT/GPL", prog, sizeof prog / sizeof prog[0],
                             nullptr);
    if (prog_fd_ < 0) return "af_xdp: " + errno_text("loading the XDP program", errno) + permission_hint(errno);
    mode_flags_ = cfg.xdp_flags;
    int r = bpf_xdp_attach(ifindex_, prog_fd_, mode_flags_ | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr);
    if (r < 0) {
      ::close(prog_fd_);
      prog_fd_ = -1;
      if (r == -EBUSY || r == -EEXIST) return "af_xdp: " + cfg.iface + " already has an XDP program attached";
      return "af_xdp: " + errno_text("attaching the XDP program to " + cfg.iface, -r) + permission_hint(-r);
    }
    return "";
  }

  // Steers RX queue q to the socket; "" or the reason.
  std::string add(uint32_t q, int xsk_fd) const {
    if (bpf_map_update_elem(map_fd_, &q, &xsk_fd, BPF_ANY) != 0)
      return "af_xdp: " + errno_text("adding the socket of queue " + std::to_string(q) + " to the XSKMAP", errno);
    return "";
  }

 private:
  std::string netns_;
  int ifindex_ = 0;
  int map_fd_ = -1;
  int prog_fd_ = -1;
  uint32_t mode_flags_ = 0;
};

class XskQueue final : public QueueDriver {
 public:
  explicit XskQueue(std::shared_ptr<XskProgram> prog) : prog_(std::move(prog)) {}
  ~XskQueue() override { close(); }

  // Returns an empty string on success, else the reason.
  std::string open(const XdpConfig& cfg, uint32_t queue_id) {
    // libxdp looks the interface up by name in the calling thread's namespace.
    std::string err;
    NetnsScope ns(cfg.netns, err);
    if (!ns.ok()) return "af_xdp: " + err;
    const std::string& ifname = cfg.iface;
    const std::string& mode = cfg.mode;
    uint32_t frames = cfg.frames;
    nrx_ = frames / 2;
    ntx_ = frames / 2;
    area_len_ = static_cast<size_t>(frames) * kFrameSize;
    void* a = mmap(nullptr, area_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) return "af_xdp: " + errno_text("mapping " + std::to_string(area_len_) + " bytes of UMEM", errno);
    area_ = static_cast<uint8_t*>(a);
    // Every frame is a page of its own to the TLB unless the UMEM sits on huge
    // pages: ask for transparent ones (advice only; 4 KiB pages still work).
    madvise(a, area_len_, MADV_HUGEPAGE);
    xsk_umem_config ucfg{};
    ucfg.fill_size = nrx_;
    ucfg.comp_size = ntx_;
    ucfg.frame_size = kFrameSize;
    ucfg.frame_headroom = 0;
    int r = xsk_umem__create(&umem_, area_, area_len_, &fq_, &cq_, &ucfg);
    if (r != 0) return "af_xdp: " + errno_text("registering the UMEM", -r) + permission_hint(-r);

    xsk_socket_config scfg{};
    scfg.rx_size = nrx_;
    scfg.tx_size = ntx_;
    scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
    uint16_t wake = XDP_USE_NEED_WAKEUP;
    if (mode == "copy") {
      r = create(ifname, queue_id, scfg, XDP_COPY | wake);
    } else if (mode == "zerocopy") {
      r = create(ifname, queue_id, scfg, XDP_ZEROCOPY | wake);
    } else {
      r = create(ifname, queue_id, scfg, XDP_ZEROCOPY | wake);
      // veth and most virtual devices have no zero-copy support.
      if (r == -EOPNOTSUPP || r == -EINVAL || r == -EPROTONOSUPPORT) r = create(ifname, queue_id, scfg, XDP_COPY | wake);
    }
    if (r != 0) {
      std::string why = strerror(-r);
      if (r == -EOPNOTSUPP && mode == "zerocopy") why = "the device does not support zero-copy (use mode=copy)";
      if (r == -EBUSY) why = "queue busy: another XDP socket or program holds it";
      return "af_xdp: cannot bind an XDP socket to " + ifname + " queue " + std::to_string(queue_id) + ": " + why +
             permission_hint(-r) + lib_detail();
    }
    fd_ = xsk_socket__fd(xsk_);
    // One sendto per burst where the kernel allows it; older kernels keep 32.
    uint32_t budget = ntx_;
    setsockopt(fd_, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof budget);
    err = prog_->add(queue_id, fd_);
    if (!err.empty()) return err;

    // All RX frames start in the fill ring; TX frames start free.
    uint32_t idx = 0;
    if (xsk_ring_prod__reserve(&fq_, nrx_, &idx) != nrx_) return "af_xdp: fill ring smaller than requested";
    for (uint32_t i = 0; i < nrx_; i++) *xsk_ring_prod__fill_addr(&fq_, idx + i) = static_cast<uint64_t>(i) * kFrameSize;
    xsk_ring_prod__submit(&fq_, nrx_);
    tx_free_ = new uint64_t[ntx_];
    for (uint32_t i = 0; i < ntx_; i++) tx_free_[i] = static_cast<uint64_t>(nrx_ + i) * kFrameSize;
    tx_free_n_ = ntx_;
    return "";
  }

  int rx(const PoolRef& pool, const int32_t* slots, int n) override {
    if (xsk_ == nullptr) return -EBADF;
    uint32_t idx = 0;
    uint32_t got = xsk_ring_cons__peek(&rx_, static_cast<uint32_t>(n), &idx);
    if (got == 0) {
      // Zero-copy drivers sleep until told that the fill ring has frames again.
      if (xsk_ring_prod__needs_wakeup(&fq_)) recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
      return 0;
    }
    uint32_t fidx = 0;
    // Room exists: every frame taken off the RX ring left a hole in the fill ring.
    xsk_ring_prod__reserve(&fq_, got, &fidx);
    // Frames are cold where the kernel wrote them: fetch a few ahead to overlap
    // the misses, past the end of this burst too (up to what the kernel has
    // published), so the next burst's first frames arrive while the caller works.
    uint32_t ready = rx_.cached_prod - idx;
    for (uint32_t i = 0; i < ready && i < kPrefetch; i++) prefetch_frame(idx + i);
    int k = 0;
    for (uint32_t i = 0; i < got; i++) {
      if (i + kPrefetch < ready) prefetch_frame(idx + i + kPrefetch);
      const xdp_desc* d = xsk_ring_cons__rx_desc(&rx_, idx + i);
      int32_t s = slots[k];
      if (static_cast<uint32_t>(s) < pool.count && pool.headroom + d->len <= pool.slot_size) {
        memcpy(pool.base + static_cast<size_t>(s) * pool.slot_size + pool.headroom, xsk_umem__get_data(area_, d->addr),
               d->len);
        pool.data_off[s] = static_cast<uint16_t>(pool.headroom);
        pool.data_len[s] = static_cast<uint16_t>(d->len);
        st_.rx_bytes += d->len;
        k++;
      } else {
        st_.rx_dropped++;
      }
      *xsk_ring_prod__fill_addr(&fq_, fidx + i) = d->addr & kFrameMask;
    }
    xsk_ring_prod__submit(&fq_, got);
    xsk_ring_cons__release(&rx_, got);
    st_.rx_frames += static_cast<uint64_t>(k);
    return k;
  }

  void prefetch_frame(uint32_t at) const {
    __builtin_prefetch(xsk_umem__get_data(area_, xsk_ring_cons__rx_desc(&rx_, at)->addr));
  }

  int tx(const PoolRef& pool, const int32_t* slots, int n) override {
    if (xsk_ == nullptr) return -EBADF;
    reclaim();
    uint32_t k = static_cast<uint32_t>(n) < tx_free_n_ ? static_cast<uint32_t>(n) : tx_free_n_;
    if (k == 0) {
      kick();
      reclaim();
      k = static_cast<uint32_t>(n) < tx_free_n_ ? static_cast<uint32_t>(n) : tx_free_n_;
      if (k == 0) return 0;
    }
    // Frames that cannot go out (bad slot, empty, larger than a UMEM frame)
    // are accepted and counted as dropped, like a NIC's TX error counter.
    uint32_t ok = 0;
    for (uint32_t i = 0; i < k; i++) ok += sendable(pool, slots[i]) ? 1 : 0;
    uint32_t idx = 0;
    if (ok > 0 && xsk_ring_prod__reserve(&tx_, ok, &idx) != ok) return 0;
    uint32_t j = 0;
    for (uint32_t i = 0; i < k; i++) {
      int32_t s = slots[i];
      if (!sendable(pool, s)) {
        st_.tx_dropped++;
        continue;
      }
      uint64_t addr = tx_free_[--tx_free_n_];
      uint32_t len = pool.data_len[s];
      memcpy(xsk_umem__get_data(area_, addr), pool.base + static_cast<size_t>(s) * pool.slot_size + pool.data_off[s], len);
      xdp_desc* d = xsk_ring_prod__tx_desc(&tx_, idx + j++);
      d->addr = addr;
      d->len = len;
      d->options = 0;
      st_.tx_bytes += len;
    }
    if (ok > 0) {
      xsk_ring_prod__submit(&tx_, ok);
      st_.tx_frames += ok;
      kick();
    }
    return static_cast<int>(k);
  }

  int wait_fd() const override { return fd_; }

  QueueStats stats() const override {
    QueueStats s = st_;
    xdp_statistics xs{};
    socklen_t l = sizeof(xs);
    if (fd_ >= 0 && getsockopt(fd_, SOL_XDP, XDP_STATISTICS, &xs, &l) == 0) {
      s.rx_dropped += xs.rx_dropped + xs.rx_ring_full + xs.rx_fill_ring_empty_descs;
      s.tx_dropped += xs.tx_invalid_descs;
    }
    return s;
  }

  void close() override {
    // The kernel drops a closed socket from the XSKMAP itself.
    if (xsk_ != nullptr) xsk_socket__delete(xsk_);
    xsk_ = nullptr;
    fd_ = -1;
    if (umem_ != nullptr) xsk_umem__delete(umem_);
    umem_ = nullptr;
    if (area_ != nullptr) munmap(area_, area_len_);
    area_ = nullptr;
    delete[] tx_free_;
    tx_free_ = nullptr;
    tx_free_n_ = 0;
    prog_.reset();
  }

 private:
  int create(const std::string& ifname, uint32_t queue_id, xsk_socket_config cfg, uint16_t bind_flags) {
    cfg.bind_flags = bind_flags;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyRetryMs);
    for (;;) {
      int r = xsk_socket__create(&xsk_, ifname.c_str(), queue_id, umem_, &rx_, &tx_, &cfg);
      if (r != -EBUSY || std::chrono::steady_clock::now() >= deadline) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(kBusyStepMs));
    }
  }

  bool sendable(const PoolRef& pool, int32_t s) const {
    if (s < 0 || static_cast<uint32_t>(s) >= pool.count) return false;
    uint32_t len = pool.data_len[s];
    return len > 0 && len <= kFrameSize && pool.data_off[s] + len <= pool.slot_size;
  }

  // Returns the frames the kernel has finished sending to the free list.
  void reclaim() {
    uint32_t idx = 0;
    uint32_t c = xsk_ring_cons__peek(&cq_, ntx_, &idx);
    for (uint32_t i = 0; i < c; i++) tx_free_[tx_free_n_++] = *xsk_ring_cons__comp_addr(&cq_, idx + i);
    if (c > 0) xsk_ring_cons__release(&cq_, c);
  }

  // Copy mode transmits only inside sendto, a budget at a time: kick until the
  // TX ring is drained, the device pushes back, or the bound is reached.
  void kick() {
    for (int i = 0; i < kMaxKicks; i++) {
      if (!xsk_ring_prod__needs_wakeup(&tx_)) return;
      if (__atomic_load_n(tx_.consumer, __ATOMIC_ACQUIRE) == tx_.cached_prod) return;
      if (sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0 && errno != EAGAIN) return;
    }
  }

  xsk_umem* umem_ = nullptr;
  xsk_socket* xsk_ = nullptr;
  xsk_ring_prod fq_{}, tx_{};
  xsk_ring_cons cq_{}, rx_{};
  uint8_t* area_ = nullptr;
  size_t area_len_ = 0;
  uint32_t nrx_ = 0, ntx_ = 0;
  uint64_t* tx_free_ = nullptr;
  uint32_t tx_free_n_ = 0;
  int fd_ = -1;
  std::shared_ptr<XskProgram> prog_;
  QueueStats st_;
};

class XdpPort final : public PortDriver {
 public:
  XdpPort(XdpConfig cfg, PortCaps caps, std::shared_ptr<XskProgram> prog)
      : cfg_(std::move(cfg)), caps_(caps), prog_(std::move(prog)) {}

  const PortCaps& caps() const override { return caps_; }
  uint32_t queue_count() const override { return cfg_.queues; }

  QueueDriver* open_queue(uint32_t q, std::string& err) override {
    if (q >= cfg_.queues) {
      err = "af_xdp: port " + cfg_.iface + " has " + std::to_string(cfg_.queues) + " queue(s), no queue " +
            std::to_string(q);
      return nullptr;
    }
    if (!prog_) {
      err = "af_xdp: port " + cfg_.iface + " is closed";
      return nullptr;
    }
    auto* xq = new XskQueue(prog_);
    err = xq->open(cfg_, cfg_.first_queue + q);
    if (!err.empty()) {
      delete xq;
      return nullptr;
    }
    return xq;
  }

  // Queues still open keep the program attached until they close.
  void close() override { prog_.reset(); }

 private:
  XdpConfig cfg_;
  PortCaps caps_;
  std::shared_ptr<XskProgram> prog_;
};

}  // namespace

PortDriver* open_af_xdp(const Options& opts, std::string& err) {
  libxdp_set_print(xdp_print);
  libbpf_set_print(bpf_print);
  last_lib_warning.clear();
  XdpConfig cfg;
  cfg.iface = opt_str(opts, "iface", "");
  cfg.netns = opt_str(opts, "netns", "");
  cfg.mode = opt_str(opts, "mode", "auto");
  std::string xdp = opt_str(opts, "xdp", "auto");
  if (cfg.iface.empty()) {
    err = "af_xdp: missing option iface=<interface>";
    return nullptr;
  }
  if (!opt_uint(opts, "queue", 0, 0, 1u << 16, cfg.first_queue, err) ||
      !opt_uint(opts, "queues", 1, 1, 256, cfg.queues, err) ||
      !opt_uint(opts, "frames", 4096, 64, 1u << 20, cfg.frames, err)) {
    err = "af_xdp: " + err;
    return nullptr;
  }
  if ((cfg.frames & (cfg.frames - 1)) != 0) {
    err = "af_xdp: frames=" + std::to_string(cfg.frames) + " must be a power of two";
    return nullptr;
  }
  if (cfg.mode != "auto" && cfg.mode != "copy" && cfg.mode != "zerocopy") {
    err = "af_xdp: mode=" + cfg.mode + " (expected copy, zerocopy or auto)";
    return nullptr;
  }
  if (xdp == "native") {
    cfg.xdp_flags = XDP_FLAGS_DRV_MODE;
  } else if (xdp == "skb") {
    cfg.xdp_flags = XDP_FLAGS_SKB_MODE;
  } else if (xdp != "auto") {
    err = "af_xdp: xdp=" + xdp + " (expected native, skb or auto)";
    return nullptr;
  }
  NetnsScope ns(cfg.netns, err);
  if (!ns.ok()) {
    err = "af_xdp: " + err;
    return nullptr;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = "af_xdp: " + errno_text("socket", errno);
    return nullptr;
  }
  PortCaps caps;
  bool ok = read_iface(fd, cfg.iface, cfg.ifindex, caps, err);
  uint32_t have = ok ? rx_queue_count(fd, cfg.iface) : 0;
  ::close(fd);
  if (!ok) {
    err = "af_xdp: " + err + (cfg.netns.empty() ? "" : " in netns " + cfg.netns);
    return nullptr;
  }
  if (cfg.first_queue + cfg.queues > have) {
    err = "af_xdp: " + cfg.iface + " has " + std::to_string(have) + " RX queue(s); cannot use queues " +
          std::to_string(cfg.first_queue) + ".." + std::to_string(cfg.first_queue + cfg.queues - 1);
    return nullptr;
  }
  caps.max_queues = have;
  cfg.rx_queues = have;
  auto prog = std::make_shared<XskProgram>();
  err = prog->attach(cfg);
  if (!err.empty()) return nullptr;
  return new XdpPort(cfg, caps, prog);
}

}  // namespace vg
