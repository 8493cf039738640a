// The tap driver: a /dev/net/tun device in TAP mode without packet information
// (IFF_TAP | IFF_NO_PI). The kernel's side of the device is the peer: frames
// written here are received by the kernel on the interface, frames the kernel
// sends out of it are read here. With queues=N the device is multi-queue
// (IFF_MULTI_QUEUE), one file descriptor per queue; the kernel picks the queue
// of an outgoing frame by its flow hash, so a flow stays on one queue.
//
// Without IFF_VNET_HDR the kernel hands over complete checksums and segments
// GSO frames before they reach the device, so no RX fix-ups are needed.
#include <linux/if_tun.h>
#include <sys/socket.h>

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "common.h"

namespace vg {
namespace {

class TapQueue : public QueueDriver {
 public:
  explicit TapQueue(int fd) : fd_(fd) {}
  ~TapQueue() override { close(); }

  // tun has no batched read or write: one system call per frame, one native call per burst.
  int rx(const PoolRef& pool, const int32_t* slots, int n) override {
    if (fd_ < 0) return -EBADF;
    if (n > kMaxBurst) n = kMaxBurst;
    int got = 0;
    while (got < n) {
      int32_t s = slots[got];
      uint32_t off = pool.headroom;
      ssize_t r = ::read(fd_, pool.base + size_t(s) * pool.slot_size + off, pool.slot_size - off);
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        if (got > 0) break;
        return -errno;
      }
      if (r < 14) {
        st_.rx_dropped++;
        continue;
      }
      pool.data_off[s] = uint16_t(off);
      pool.data_len[s] = uint16_t(r);
      st_.rx_bytes += uint64_t(r);
      got++;
    }
    st_.rx_frames += uint64_t(got);
    return got;
  }

  int tx(const PoolRef& pool, const int32_t* slots, int n) override {
    if (fd_ < 0) return -EBADF;
    if (n > kMaxBurst) n = kMaxBurst;
    int done = 0;
    for (; done < n; done++) {
      int32_t s = slots[done];
      uint32_t len = pool.data_len[s];
      ssize_t r = ::write(fd_, pool.base + size_t(s) * pool.slot_size + pool.data_off[s], len);
      if (r >= 0) {
        st_.tx_frames++;
        st_.tx_bytes += len;
        continue;
      }
      if (errno == EAGAIN || errno == EINTR) break;
      // EIO: the kernel side is down; EINVAL/EMSGSIZE: a bad frame. A NIC drops these.
      if (errno == EIO || errno == EINVAL || errno == EMSGSIZE) {
        st_.tx_dropped++;
        continue;
      }
      return done > 0 ? done : -errno;
    }
    return done;
  }

  int wait_fd() const override { return fd_; }
  QueueStats stats() const override { return st_; }
  void close() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  QueueStats st_;
};

// One tap device opened by this process: its queue descriptors, each handed to
// one queue once. Ports opened with the same netns and name share it, so each
// worker thread may open the port spec itself and take its own queue.
struct TapDevice {
  std::vector<int> fds;  // -1 once handed to a queue
  PortCaps caps;
  ~TapDevice() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
};

std::mutex g_taps_mu;
std::map<std::string, std::weak_ptr<TapDevice>> g_taps;

class TapPort : public PortDriver {
 public:
  explicit TapPort(std::shared_ptr<TapDevice> dev) : dev_(std::move(dev)), caps_(dev_->caps) {}
  const PortCaps& caps() const override { return caps_; }
  uint32_t queue_count() const override { return uint32_t(caps_.max_queues); }

  QueueDriver* open_queue(uint32_t q, std::string& err) override {
    std::lock_guard<std::mutex> lk(g_taps_mu);
    if (!dev_ || q >= dev_->fds.size() || dev_->fds[q] < 0) {
      err = !dev_ || q >= caps_.max_queues ? "tap port has no queue " + std::to_string(q)
                                           : "tap queue " + std::to_string(q) + " is already open";
      return nullptr;
    }
    int fd = dev_->fds[q];
    dev_->fds[q] = -1;
    return new TapQueue(fd);
  }

  // The descriptors of queues never opened close with the last port of the
  // device; the kernel removes the device with its last descriptor.
  void close() override {
    std::lock_guard<std::mutex> lk(g_taps_mu);
    dev_.reset();
  }

 private:
  std::shared_ptr<TapDevice> dev_;
  PortCaps caps_;
};

// Creates the device (or attaches to an existing free one): `queues` descriptors.
// The port's MAC is `mac`, or derived from the kernel's.
std::shared_ptr<TapDevice> create_tap(const std::string& name, uint32_t queues, bool up, const uint8_t* mac,
                                      std::string& err) {
  auto dev = std::make_shared<TapDevice>();
  ifreq ifr;
  if (!ifreq_for(name, ifr, err)) {
    err = "tap: " + err;
    return nullptr;
  }
  for (uint32_t q = 0; q < queues; q++) {
    int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      err = errno == ENOENT ? "tap: /dev/net/tun is missing (no TUN/TAP in this kernel)"
                            : errno_text("tap: open /dev/net/tun", errno);
      return nullptr;
    }
    dev->fds.push_back(fd);
    ifr.ifr_flags = short(IFF_TAP | IFF_NO_PI | (queues > 1 ? IFF_MULTI_QUEUE : 0));
    if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
      int e = errno;
      if (e == EPERM) err = "tap needs root or CAP_NET_ADMIN to create " + name;
      else if (e == EBUSY || e == EINVAL) err = "tap: " + name + " exists and is not a free tap device with matching queue settings";
      else err = errno_text("tap: TUNSETIFF " + name, e);
      return nullptr;
    }
  }
  int sfd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sfd < 0) {
    err = errno_text("tap: socket", errno);
    return nullptr;
  }
  int ifindex = 0;
  bool ok = read_iface(sfd, name, ifindex, dev->caps, err) && (!up || iface_up(sfd, name, err));
  ::close(sfd);
  if (!ok) {
    err = "tap: " + err;
    return nullptr;
  }
  dev->caps.max_queues = queues;
  // The kernel's interface owns the device MAC; the port is the other end of
  // the wire and needs its own: 02:76:67 ("vg", locally administered) followed
  // by the low bytes of the kernel's random MAC.
  uint8_t* m = dev->caps.mac;
  m[0] = 0x02;
  m[1] = 0x76;
  m[2] = 0x67;
  if (mac) std::memcpy(m, mac, 6);
  return dev;
}

}  // namespace

PortDriver* open_tap(const Options& opts, std::string& err) {
  std::string name = opt_str(opts, "name", "");
  std::string netns = opt_str(opts, "netns", "");
  if (name.empty() || name.find('%') != std::string::npos) {
    err = "tap needs a device name: tap:name=<name>";
    return nullptr;
  }
  uint32_t queues = 1;
  bool up = true;
  if (!opt_uint(opts, "queues", 1, 1, 64, queues, err) || !opt_bool(opts, "up", true, up, err)) {
    err = "tap: " + err;
    return nullptr;
  }
  uint8_t mac[6];
  std::string mac_opt = opt_str(opts, "mac", "");
  if (!mac_opt.empty() && !parse_mac(mac_opt, mac)) {
    err = "tap option mac=" + mac_opt + " is not aa:bb:cc:dd:ee:ff";
    return nullptr;
  }
  const std::string key = netns + "/" + name;
  std::lock_guard<std::mutex> lk(g_taps_mu);
  std::shared_ptr<TapDevice> dev = g_taps[key].lock();
  if (dev) {
    if (dev->caps.max_queues != queues) {
      err = "tap " + name + " is open in this process with " + std::to_string(dev->caps.max_queues) + " queues";
      return nullptr;
    }
    return new TapPort(dev);
  }
  {
    NetnsScope ns(netns, err);
    if (!ns.ok()) return nullptr;
    dev = create_tap(name, queues, up, mac_opt.empty() ? nullptr : mac, err);
  }
  if (!dev) return nullptr;
  g_taps[key] = dev;
  return new TapPort(dev);
}

}  // namespace vg
