// DPDK driver (Debian's libdpdk 22.11). The EAL is initialised once per process
// with the user's arguments verbatim; each port is configured with N RX/TX
// queues (RSS when N > 1 and the PMD hashes), one mbuf pool per queue, and
// bursts copy between mbufs and the worker's slots.
//
// Options:
//   dev=NAME     ethdev name (net_ring0, net_af_packet0, 0000:81:00.0); default:
//                the first device named by this call's --vdev/-a arguments
//   port=N       ethdev port id, instead of dev
//   pair=NAME,side=0|1   an in-process pair of ring ports: side 0's TX is side
//                1's RX (net_ring from EAL arguments can only loop back)
//   queues=N     RX/TX queue pairs (default 1)
//   rxd=N txd=N  descriptors per queue (default 1024)
//   mbufs=N      mbufs per queue's pool (default (rxd + txd + 256) * 2 rounded up
//                to 2^n - 1: 8191 for the default descriptors); mind --no-huge -m
//   promisc=0|1  promiscuous mode (default 1)
//   netns=NAME   the port's kernel interface (net_af_packet, net_af_xdp, net_tap)
//                is in network namespace NAME
#include <pthread.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cctype>
#include <climits>
#include <fstream>
#include <memory>
#include <mutex>

#include "common.h"

namespace vg {
namespace {

constexpr int kMaxBurst = 256;
// Frames per rte_eth_rx_burst call (see DpdkQueue::rx).
constexpr int kPmdBurst = 64;
constexpr uint32_t kMbufCache = 256;
constexpr uint32_t kRingPairSize = 1024;

// --- EAL ---------------------------------------------------------------------

std::mutex eal_mu;
bool eal_ready = false;
std::vector<std::string> eal_base_args;  // the non-device arguments of the first init

std::vector<std::string> split_args(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool have = false;
  char quote = 0;
  for (char c : s) {
    if (quote != 0) {
      if (c == quote) quote = 0;
      else cur += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      have = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (have) out.push_back(cur);
      cur.clear();
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (have) out.push_back(cur);
  return out;
}

// Devices named by EAL arguments (--vdev X, --vdev=X, -a X, -aX, --allow X,
// --allow=X); everything else goes to `rest`. Device args are what may differ
// between ports opened after the EAL is up: they are hot-plugged.
void split_devices(const std::vector<std::string>& args, std::vector<std::string>& devs,
                   std::vector<std::string>& rest) {
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if ((a == "--vdev" || a == "-a" || a == "--allow") && i + 1 < args.size()) {
      devs.push_back(args[++i]);
    } else if (a.rfind("--vdev=", 0) == 0) {
      devs.push_back(a.substr(7));
    } else if (a.rfind("--allow=", 0) == 0) {
      devs.push_back(a.substr(8));
    } else if (a.size() > 2 && a.rfind("-a", 0) == 0) {
      devs.push_back(a.substr(2));
    } else {
      rest.push_back(a);
    }
  }
}

std::string dev_name(const std::string& devargs) { return devargs.substr(0, devargs.find(',')); }

bool has_arg(const std::vector<std::string>& args, const char* name) {
  for (const auto& a : args)
    if (a == name) return true;
  return false;
}

uint64_t hugepages_reserved() {
  uint64_t total = 0;
  for (const char* sz : {"hugepages-2048kB", "hugepages-1048576kB"}) {
    std::ifstream f(std::string("/sys/kernel/mm/hugepages/") + sz + "/nr_hugepages");
    uint64_t n = 0;
    if (f >> n) total += n;
  }
  return total;
}

// The last lines DPDK logged, for an error message.
std::string tail_lines(const std::string& log, int lines) {
  size_t end = log.size();
  while (end > 0 && log[end - 1] == '\n') end--;
  size_t pos = end;
  for (int i = 0; i < lines && pos > 0; i++) {
    pos = log.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  std::string t = log.substr(pos, end - pos);
  for (char& c : t)
    if (c == '\n') c = ' ';
  while (!t.empty() && t[0] == ' ') t.erase(0, 1);
  return t;
}

// Sends the process's stdout and stderr (fds 1 and 2) to an anonymous
// file until finish(), which restores them and returns what was printed.
class StdioCapture {
 public:
  StdioCapture() {
    fd_ = memfd_create("vaigai-eal", 0);
    if (fd_ < 0) return;
    fflush(stdout);
    fflush(stderr);
    out_ = dup(1);
    err_ = dup(2);
    dup2(fd_, 1);
    dup2(fd_, 2);
  }
  ~StdioCapture() { finish(); }
  std::string finish() {
    if (fd_ < 0) return "";
    fflush(stdout);
    fflush(stderr);
    dup2(out_, 1);
    dup2(err_, 2);
    ::close(out_);
    ::close(err_);
    std::string text;
    char buf[4096];
    lseek(fd_, 0, SEEK_SET);
    for (ssize_t n; (n = read(fd_, buf, sizeof buf)) > 0 && text.size() < 65536;) text.append(buf, size_t(n));
    ::close(fd_);
    fd_ = -1;
    return text;
  }

 private:
  int fd_ = -1, out_ = -1, err_ = -1;
};

// getopt's complaint in what the EAL printed ("vaigai: unrecognized option '--x'").
std::string bad_argument_line(const std::string& printed) {
  size_t at = 0;
  while (at < printed.size()) {
    size_t nl = printed.find('\n', at);
    std::string line = printed.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if (line.rfind("vaigai: ", 0) == 0) return line.substr(8);
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return "";
}

bool eal_init(const std::vector<std::string>& args, std::string& err) {
  std::vector<char*> argv;
  std::string argv0 = "vaigai";
  argv.push_back(argv0.data());
  std::vector<std::string> copy = args;  // rte_eal_init may permute argv
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);

  // rte_eal_init pins the calling thread to the main lcore: give the thread its
  // own affinity back so Node's main thread keeps running where it did.
  cpu_set_t saved;
  bool have_saved = pthread_getaffinity_np(pthread_self(), sizeof saved, &saved) == 0;
  // Start-up chatter is kept, and shown only when initialisation fails.
  char* log_buf = nullptr;
  size_t log_len = 0;
  FILE* log = open_memstream(&log_buf, &log_len);
  if (log != nullptr) rte_openlog_stream(log);
  // A bad argument makes the EAL print getopt's complaint (stderr) and its
  // whole usage text (stdout): both are captured, and the complaint goes into
  // the error instead.
  StdioCapture cap;
  int r = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
  int e = rte_errno;
  std::string printed = cap.finish();
  // Later DPDK messages go to stderr: stdout belongs to the CLI's output.
  rte_openlog_stream(stderr);
  if (log != nullptr) fclose(log);
  std::string text = log_buf != nullptr ? std::string(log_buf, log_len) : "";
  free(log_buf);
  if (have_saved) pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
  if (r >= 0) return true;

  err = "dpdk: rte_eal_init failed (" + std::string(rte_strerror(e)) + ")";
  if (e == EALREADY) err += ": the EAL already failed once in this process; restart it";
  bool no_huge = has_arg(args, "--no-huge");
  if (!no_huge && hugepages_reserved() == 0) {
    err += ": no hugepages are reserved (run scripts/setup.sh hugepages, or pass --no-huge --no-shconf -m 512)";
  } else if (no_huge && !has_arg(args, "--no-shconf") && !has_arg(args, "--in-memory")) {
    err += ": with --no-huge also pass --no-shconf";
  }
  if (geteuid() != 0) err += ": not root (DPDK needs root or CAP_SYS_ADMIN, CAP_IPC_LOCK, CAP_NET_RAW)";
  std::string bad = bad_argument_line(printed);
  if (!bad.empty()) err += ": " + bad + " (see `dpdk-testpmd --help` for the EAL arguments)";
  std::string t = tail_lines(text, 2);
  if (!t.empty()) err += " [" + t + "]";
  return false;
}

// "0000:81:00.0" or "81:00.0": a PCI address rather than a vdev name.
bool is_pci_address(const std::string& name) {
  if (name.find(':') == std::string::npos || name.find('.') == std::string::npos) return false;
  for (char c : name)
    if (!isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
  return true;
}

// A device named by -a that the EAL could not use: say why.
std::string pci_problem(const std::string& addr) {
  std::string dir = "/sys/bus/pci/devices/" + addr;
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) return "no such PCI device " + addr;
  char link[PATH_MAX];
  ssize_t n = readlink((dir + "/driver").c_str(), link, sizeof link - 1);
  if (n <= 0) return "PCI device " + addr + " has no driver: bind it to vfio-pci (scripts/setup.sh bind " + addr + ")";
  link[n] = '\0';
  std::string drv = strrchr(link, '/') != nullptr ? strrchr(link, '/') + 1 : link;
  if (drv != "vfio-pci" && drv != "uio_pci_generic" && drv != "igb_uio")
    return "PCI device " + addr + " is bound to " + drv + ", not vfio-pci (scripts/setup.sh bind " + addr + ")";
  return "PCI device " + addr + " was not probed by any DPDK driver";
}

// Makes sure every device in `devs` exists as an ethdev, probing the missing
// ones (the EAL is already up, or a port closed earlier removed its device).
bool probe_devices(const std::vector<std::string>& devs, std::string& err) {
  for (const auto& d : devs) {
    uint16_t pid = 0;
    if (rte_eth_dev_get_port_by_name(dev_name(d).c_str(), &pid) == 0) continue;
    int r = rte_dev_probe(d.c_str());
    if (r < 0 && rte_eth_dev_get_port_by_name(dev_name(d).c_str(), &pid) != 0) {
      err = "dpdk: cannot probe device " + d + ": " + rte_strerror(-r);
      if (is_pci_address(dev_name(d))) err += " (" + pci_problem(dev_name(d)) + ")";
      return false;
    }
  }
  return true;
}

// Initialises the EAL on first use; probes the devices this call names that
// do not exist yet. With a namespace (entered by the caller afterwards), vdevs
// are left out of rte_eal_init, so that the EAL's own threads start outside it.
bool ensure_eal(const std::string& eal_args, bool netns, std::vector<std::string>& devs, std::string& err) {
  std::vector<std::string> args = split_args(eal_args);
  std::vector<std::string> rest;
  split_devices(args, devs, rest);
  if (!eal_ready) {
    std::vector<std::string> init_args;
    for (size_t i = 0; i < args.size(); i++) {
      const std::string& a = args[i];
      if (netns && a.rfind("--vdev", 0) == 0) {
        if (a == "--vdev") i++;
        continue;
      }
      init_args.push_back(a);
    }
    if (!eal_init(init_args, err)) return false;
    eal_ready = true;
    eal_base_args = rest;
  } else if (!rest.empty() && rest != eal_base_args) {
    std::string was;
    for (const auto& a : eal_base_args) was += (was.empty() ? "" : " ") + a;
    err = "dpdk: the EAL is already initialised in this process with '" + was +
          "'; a later port may add devices (--vdev, -a) but not change other EAL arguments";
    return false;
  }
  return true;
}

// Worker threads are not EAL threads: register each on first use so mbuf pool
// caches work (rte_lcore_id() is per thread). Failure is tolerated: pools then
// run without a per-thread cache.
thread_local bool thread_registered = false;
thread_local bool thread_tried = false;
void ensure_thread_registered() {
  if (thread_tried) return;
  thread_tried = true;
  if (rte_lcore_id() != LCORE_ID_ANY) return;
  thread_registered = rte_thread_register() == 0;
}

// --- ring pairs --------------------------------------------------------------

rte_ring* ring_get(const std::string& name) {
  rte_ring* r = rte_ring_lookup(name.c_str());
  if (r == nullptr) r = rte_ring_create(name.c_str(), kRingPairSize, static_cast<int>(rte_socket_id()),
                                        RING_F_SP_ENQ | RING_F_SC_DEQ);
  return r;
}

// Creates (or finds) side `side` of ring pair `pair` as an ethdev; returns its
// name, or "" with err set.
std::string ring_pair_port(const std::string& pair, int side, uint32_t queues, std::string& err) {
  std::string name = "vgp_" + pair + "_" + std::to_string(side);
  std::string ethname = "net_ring_" + name;
  uint16_t pid = 0;
  if (rte_eth_dev_get_port_by_name(ethname.c_str(), &pid) == 0) return ethname;
  std::vector<rte_ring*> rx, tx;
  for (uint32_t q = 0; q < queues; q++) {
    rte_ring* ab = ring_get("vgp" + std::to_string(q) + "a_" + pair);
    rte_ring* ba = ring_get("vgp" + std::to_string(q) + "b_" + pair);
    if (ab == nullptr || ba == nullptr) {
      err = "dpdk: cannot create ring pair " + pair + ": " + rte_strerror(rte_errno) + " (name too long?)";
      return "";
    }
    rx.push_back(side == 0 ? ba : ab);
    tx.push_back(side == 0 ? ab : ba);
  }
  if (rte_eth_from_rings(name.c_str(), rx.data(), queues, tx.data(), queues, rte_socket_id()) < 0) {
    err = "dpdk: cannot create ring port " + ethname + ": " + rte_strerror(rte_errno);
    return "";
  }
  return ethname;
}

// --- ports and queues --------------------------------------------------------

// Ports opened by this process and not closed yet.
std::vector<uint16_t> ports_in_use;

struct PortState {
  uint16_t port_id = 0;
  std::string netns;
  bool running = false;
  bool promisc = false;
  std::vector<rte_mempool*> pools;
};

class DpdkQueue final : public QueueDriver {
 public:
  DpdkQueue(std::shared_ptr<PortState> port, uint16_t q) : port_(std::move(port)), q_(q), pool_(port_->pools[q]) {}

  // Polls the PMD in bursts of at most kPmdBurst until n frames arrived or a
  // burst comes back short. DPDK 22.11's net_af_xdp refills its fill queue per
  // burst with as many buffers as the burst took, and when the queue has no room
  // for them all it gives them back to the pool instead: with bursts of 256 the
  // kernel's share of buffers shrinks round after round and frames are dropped
  // (test/port/dpdk.test.ts); with bursts of 64 it does not happen.
  int rx(const PoolRef& pool, const int32_t* slots, int n) override {
    if (!port_->running) return -EBADF;
    ensure_thread_registered();
    if (n > kMaxBurst) n = kMaxBurst;
    rte_mbuf* m[kPmdBurst];
    int k = 0;
    for (int taken = 0; taken < n;) {
      uint16_t want = static_cast<uint16_t>(n - taken < kPmdBurst ? n - taken : kPmdBurst);
      uint16_t got = rte_eth_rx_burst(port_->port_id, q_, m, want);
      for (uint16_t i = 0; i < got; i++) {
        if (copy_in(pool, slots[k], m[i])) k++;
        else st_.rx_dropped++;
        rte_pktmbuf_free(m[i]);
      }
      taken += got;
      if (got < want) break;
    }
    st_.rx_frames += static_cast<uint64_t>(k);
    return k;
  }

  int tx(const PoolRef& pool, const int32_t* slots, int n) override {
    if (!port_->running) return -EBADF;
    ensure_thread_registered();
    if (n > kMaxBurst) n = kMaxBurst;
    rte_mbuf* m[kMaxBurst];
    int16_t at[kMaxBurst];  // at[k]: position in slots of the frame in m[k]
    if (rte_pktmbuf_alloc_bulk(pool_, m, static_cast<unsigned>(n)) != 0) return 0;
    int k = 0;
    for (int i = 0; i < n; i++) {
      int32_t s = slots[i];
      uint32_t len = static_cast<uint32_t>(s) < pool.count ? pool.data_len[s] : 0;
      // Frames that cannot be sent (bad slot, empty, too large for an mbuf)
      // are accepted and counted as dropped, like a NIC's TX error counter.
      if (len == 0 || pool.data_off[s] + len > pool.slot_size || len > rte_pktmbuf_tailroom(m[k])) continue;
      memcpy(rte_pktmbuf_mtod(m[k], uint8_t*), pool.base + static_cast<size_t>(s) * pool.slot_size + pool.data_off[s],
             len);
      m[k]->data_len = static_cast<uint16_t>(len);
      m[k]->pkt_len = len;
      at[k++] = static_cast<int16_t>(i);
    }
    uint16_t sent = rte_eth_tx_burst(port_->port_id, q_, m, static_cast<uint16_t>(k));
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < sent; i++) bytes += m[i]->pkt_len;  // read before the PMD may free them
    // The accepted prefix ends at the first frame the device did not take.
    int accepted = sent < k ? at[sent] : n;
    st_.tx_frames += sent;
    st_.tx_bytes += bytes;
    st_.tx_dropped += static_cast<uint64_t>(accepted - sent);
    for (int i = sent; i < n; i++) rte_pktmbuf_free(m[i]);
    return accepted;
  }

  QueueStats stats() const override {
    QueueStats s = st_;
    // Port-wide misses (RX ring full, no mbuf) are reported on queue 0.
    rte_eth_stats es{};
    if (q_ == 0 && port_->running && rte_eth_stats_get(port_->port_id, &es) == 0) s.rx_dropped += es.imissed + es.rx_nombuf;
    return s;
  }

  void close() override {
    if (thread_registered) {
      rte_thread_unregister();
      thread_registered = false;
      thread_tried = false;
    }
  }

 private:
  // Copies one received mbuf chain into slot s; puts a VLAN tag the device
  // stripped back into the frame, in the slot's headroom.
  bool copy_in(const PoolRef& pool, int32_t s, rte_mbuf* m) {
    if (static_cast<uint32_t>(s) >= pool.count) return false;
    uint32_t off = pool.headroom;
    uint32_t len = m->pkt_len;
    bool tag = (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) != 0 && len > 12 && off >= 4;
    if (off + len > pool.slot_size) return false;
    uint8_t* frame = pool.base + static_cast<size_t>(s) * pool.slot_size + off;
    uint8_t* dst = frame;
    for (rte_mbuf* seg = m; seg != nullptr; seg = seg->next) {
      memcpy(dst, rte_pktmbuf_mtod(seg, const uint8_t*), seg->data_len);
      dst += seg->data_len;
    }
    if (tag) {
      insert_vlan_tag(frame, 0x8100, m->vlan_tci);
      off -= 4;
      len += 4;
    }
    pool.data_off[s] = static_cast<uint16_t>(off);
    pool.data_len[s] = static_cast<uint16_t>(len);
    st_.rx_bytes += len;
    return true;
  }

  std::shared_ptr<PortState> port_;
  uint16_t q_;
  rte_mempool* pool_;
  QueueStats st_;
};

// Stops and closes the port and frees its pools (also after a failed setup).
// A vdev's device is removed too, so that a later open can probe it again.
void release_port(PortState& st) {
  uint16_t pid = st.port_id;
  rte_eth_dev_info info{};
  bool vdev = rte_eth_dev_info_get(pid, &info) == 0 && info.device != nullptr &&
              strcmp(rte_bus_name(rte_dev_bus(info.device)), "vdev") == 0;
  // PMDs on kernel interfaces (af_packet, tap) leave IFF_PROMISC set otherwise.
  if (st.promisc) rte_eth_promiscuous_disable(pid);
  rte_eth_dev_stop(pid);
  rte_eth_dev_close(pid);
  if (vdev) rte_dev_remove(info.device);
  for (size_t i = 0; i < ports_in_use.size(); i++)
    if (ports_in_use[i] == pid) ports_in_use.erase(ports_in_use.begin() + static_cast<long>(i));
  for (auto* p : st.pools) rte_mempool_free(p);
  st.pools.clear();
}

class DpdkPort final : public PortDriver {
 public:
  DpdkPort(std::string name, uint32_t queues, PortCaps caps, std::shared_ptr<PortState> st)
      : name_(std::move(name)), queues_(queues), caps_(caps), st_(std::move(st)) {}
  ~DpdkPort() override { close(); }

  const PortCaps& caps() const override { return caps_; }
  uint32_t queue_count() const override { return queues_; }

  QueueDriver* open_queue(uint32_t q, std::string& err) override {
    if (q >= queues_ || !st_->running) {
      err = "dpdk: port " + name_ + (st_->running ? " has no queue " + std::to_string(q) : " is closed");
      return nullptr;
    }
    return new DpdkQueue(st_, static_cast<uint16_t>(q));
  }

  void close() override {
    std::lock_guard<std::mutex> g(eal_mu);
    if (!st_->running) return;
    st_->running = false;
    std::string err;
    NetnsScope ns(st_->netns, err);
    release_port(*st_);
  }

 private:
  std::string name_;
  uint32_t queues_;
  PortCaps caps_;
  // Shared with the queues, which may outlive the port object.
  std::shared_ptr<PortState> st_;
};

bool is_used_by_us(uint16_t pid) {
  for (uint16_t p : ports_in_use)
    if (p == pid && rte_eth_dev_is_valid_port(p)) return true;
  return false;
}

// Finds the port to open; returns false with err set when there is none.
bool pick_port(const Options& opts, const std::vector<std::string>& devs, uint16_t& pid, std::string& name,
               std::string& err) {
  auto dev = opts.find("dev");
  auto port = opts.find("port");
  if (dev != opts.end() || (port == opts.end() && !devs.empty())) {
    name = dev != opts.end() ? dev->second : dev_name(devs[0]);
    if (rte_eth_dev_get_port_by_name(name.c_str(), &pid) != 0) {
      err = "dpdk: no port named " + name;
      if (is_pci_address(name)) err += " (" + pci_problem(name) + ")";
      else err += " (give it with --vdev=" + name + ",... in the EAL arguments)";
      return false;
    }
    return true;
  }
  if (port != opts.end()) {
    uint32_t v = 0;
    if (!opt_uint(opts, "port", 0, 0, RTE_MAX_ETHPORTS - 1, v, err) || !rte_eth_dev_is_valid_port(static_cast<uint16_t>(v))) {
      err = "dpdk: no port " + port->second + " (" + std::to_string(rte_eth_dev_count_avail()) + " port(s) found)";
      return false;
    }
    pid = static_cast<uint16_t>(v);
  } else {
    bool found = false;
    uint16_t p = 0;
    RTE_ETH_FOREACH_DEV(p) {
      if (!is_used_by_us(p)) {
        pid = p;
        found = true;
        break;
      }
    }
    if (!found) {
      err = rte_eth_dev_count_avail() == 0
                ? "dpdk: no ports found (give a device: --vdev=net_... or -a <PCI address> bound to vfio-pci)"
                : "dpdk: every DPDK port is already open";
      return false;
    }
  }
  char buf[RTE_ETH_NAME_MAX_LEN];
  name = rte_eth_dev_get_name_by_port(pid, buf) == 0 ? buf : "port" + std::to_string(pid);
  return true;
}

// The architecture's mempool size for one queue: (rx + tx + pipeline) * 2
// descriptors' worth, rounded up to a power of two, less one (the size a
// mempool's ring holds best). 8191 for the default 1024 + 1024.
uint32_t pool_size_for(uint32_t rxd, uint32_t txd) {
  uint32_t need = (rxd + txd + uint32_t(kMaxBurst)) * 2, p = 1;
  while (p < need) p <<= 1;
  return p - 1;
}

// Configures and starts the port with `queues` queue pairs; fills caps.
bool setup_port(uint16_t pid, const std::string& name, uint32_t queues, uint32_t rxd, uint32_t txd, uint32_t mbufs,
                bool promisc, PortState& st, PortCaps& caps, std::string& err) {
  rte_eth_dev_info info{};
  int r = rte_eth_dev_info_get(pid, &info);
  if (r != 0) {
    err = "dpdk: " + name + ": cannot read device info: " + rte_strerror(-r);
    return false;
  }
  if (queues > info.max_rx_queues || queues > info.max_tx_queues) {
    err = "dpdk: " + name + " supports " + std::to_string(info.max_rx_queues < info.max_tx_queues ? info.max_rx_queues
                                                                                                   : info.max_tx_queues) +
          " queue(s), not " + std::to_string(queues);
    return false;
  }
  rte_eth_conf conf{};
  uint64_t rss = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
  if (queues > 1 && rss != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss;
  }
  r = rte_eth_dev_configure(pid, static_cast<uint16_t>(queues), static_cast<uint16_t>(queues), &conf);
  if (r != 0) {
    err = "dpdk: " + name + ": configure with " + std::to_string(queues) + " queue(s) failed: " + rte_strerror(-r);
    return false;
  }
  uint16_t nrx = static_cast<uint16_t>(rxd), ntx = static_cast<uint16_t>(txd);
  rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nrx, &ntx);
  int socket = rte_eth_dev_socket_id(pid);
  if (socket < 0) socket = static_cast<int>(rte_socket_id());
  static unsigned pool_seq = 0;
  for (uint32_t q = 0; q < queues; q++) {
    std::string pname = "vg" + std::to_string(pid) + "_" + std::to_string(q) + "_" + std::to_string(pool_seq++);
    rte_mempool* mp = rte_pktmbuf_pool_create(pname.c_str(), mbufs, kMbufCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    if (mp == nullptr) {
      err = "dpdk: " + name + ": cannot create a pool of " + std::to_string(mbufs) + " mbufs for queue " +
            std::to_string(q) + ": " + rte_strerror(rte_errno) +
            " (lower mbufs=, or give the EAL more memory: -m, hugepages)";
      return false;
    }
    st.pools.push_back(mp);
    r = rte_eth_rx_queue_setup(pid, static_cast<uint16_t>(q), nrx, static_cast<unsigned>(socket), nullptr, mp);
    if (r == 0) r = rte_eth_tx_queue_setup(pid, static_cast<uint16_t>(q), ntx, static_cast<unsigned>(socket), nullptr);
    if (r != 0) {
      err = "dpdk: " + name + ": queue " + std::to_string(q) + " setup failed: " + rte_strerror(-r);
      return false;
    }
  }
  r = rte_eth_dev_start(pid);
  if (r != 0) {
    err = "dpdk: " + name + ": start failed: " + rte_strerror(-r);
    return false;
  }
  st.promisc = promisc && rte_eth_promiscuous_enable(pid) == 0;
  st.running = true;

  rte_ether_addr mac{};
  if (rte_eth_macaddr_get(pid, &mac) == 0) memcpy(caps.mac, mac.addr_bytes, 6);
  uint16_t mtu = 1500;
  if (rte_eth_dev_get_mtu(pid, &mtu) == 0) caps.mtu = mtu;
  caps.max_queues = info.max_rx_queues < info.max_tx_queues ? info.max_rx_queues : info.max_tx_queues;
  return true;
}

}  // namespace

PortDriver* open_dpdk(const Options& opts, const std::string& eal_args, std::string& err) {
  std::lock_guard<std::mutex> g(eal_mu);
  std::vector<std::string> devs;
  const std::string netns = opt_str(opts, "netns", "");
  if (!ensure_eal(eal_args, !netns.empty(), devs, err)) return nullptr;
  // PMDs on kernel interfaces look them up by name at probe, setup, start and
  // stop: all of that runs inside the port's namespace.
  NetnsScope ns(netns, err);
  if (!ns.ok()) {
    err = "dpdk: " + err;
    return nullptr;
  }
  if (!probe_devices(devs, err)) return nullptr;

  uint32_t queues = 1, rxd = 1024, txd = 1024, mbufs = 0;
  bool promisc = true;
  if (!opt_uint(opts, "queues", 1, 1, RTE_MAX_QUEUES_PER_PORT, queues, err) ||
      !opt_uint(opts, "rxd", 1024, 1, 32768, rxd, err) || !opt_uint(opts, "txd", 1024, 1, 32768, txd, err) ||
      !opt_uint(opts, "mbufs", pool_size_for(rxd, txd), 64, 1u << 24, mbufs, err) ||
      !opt_bool(opts, "promisc", true, promisc, err)) {
    err = "dpdk: " + err;
    return nullptr;
  }
  std::vector<std::string> port_devs = devs;
  auto pair = opts.find("pair");
  if (pair != opts.end()) {
    uint32_t side = 0;
    if (!opt_uint(opts, "side", 0, 0, 1, side, err) || pair->second.empty()) {
      err = "dpdk: pair=NAME needs side=0 or side=1";
      return nullptr;
    }
    std::string eth = ring_pair_port(pair->second, static_cast<int>(side), queues, err);
    if (eth.empty()) return nullptr;
    port_devs.assign(1, eth);
  }
  uint16_t pid = 0;
  std::string name;
  if (!pick_port(opts, port_devs, pid, name, err)) return nullptr;
  if (is_used_by_us(pid)) {
    err = "dpdk: port " + name + " is already open";
    return nullptr;
  }
  auto st = std::make_shared<PortState>();
  st->port_id = pid;
  st->netns = netns;
  PortCaps caps;
  if (!setup_port(pid, name, queues, rxd, txd, mbufs, promisc, *st, caps, err)) {
    release_port(*st);
    return nullptr;
  }
  ports_in_use.push_back(pid);
  return new DpdkPort(name, queues, caps, st);
}

}  // namespace vg
