// N-API glue of the packet-I/O addon. JS surface (see src/port/native.ts):
//   drivers()                         names of the drivers built in
//   open(driver, options, ealArgs)    a Port: caps(), queueCount, handle, openQueue(), close()
//   attach(handle)                    the same port in another thread (worker_threads)
//   port.openQueue(q, reg)            a Queue over the worker's pool; `reg` registers once
//                                     { buffer, slotSize, dataOff, dataLen, freeStack, headroom,
//                                       rxSlots, txSlots, rxStamps?, txStamp?, clockOriginNs? }
//                                     rxStamps (Float64Array, one per slot): each rx burst writes
//                                     the kernel's receive time of the frame it put in a slot;
//                                     txStamp[0]: each tx burst's time (the device's stamp of
//                                     its first frame where it gives one, else the hand-over
//                                     time). Both in µs of CLOCK_MONOTONIC minus clockOriginNs
//                                     (the caller's clock)
//   queue.rxTimestamps                whether rx writes rxStamps (the driver has kernel stamps)
//   queue.txTimestamps                whether txStamp is the device's (else the hand-over time)
//   queue.rx(n, top)                  one burst received into the pool's free slots
//                                     freeStack[top-n..top); the k used ones are moved to the
//                                     RX output array [0..k) and the stack closed up (JS
//                                     lowers top by k)
//   queue.setRxOut(int32Array)        the RX output array (rxSlots until set)
//   queue.tx(n)                       one burst over txSlots[0..n); count or -errno
//   queue.waitFd, stats(), close(), benchTx(n, frames, ms), benchRx(n, frames, ms)
//   pinThread(cpu), getAffinity()
// A burst call takes one number and returns one number: no objects cross.
#include <napi.h>

#include <sched.h>
#include <time.h>

#include <map>
#include <mutex>

#include "common.h"
#include "tls_engine.h"

namespace vg {
namespace {

// Ports live in a process-wide table so that worker threads (each with its own
// JS environment) can attach to a port the main thread opened. A port is
// closed when the last JS port object and the last of its queues let go.
struct PortEntry {
  PortDriver* drv;
  std::string driver;
  int refs;
};
std::mutex g_mu;
std::map<uint32_t, PortEntry> g_ports;
uint32_t g_next_handle = 1;

PortDriver* port_ref(uint32_t h) {
  std::lock_guard<std::mutex> lk(g_mu);
  auto it = g_ports.find(h);
  if (it == g_ports.end()) return nullptr;
  it->second.refs++;
  return it->second.drv;
}

void port_unref(uint32_t h) {
  PortDriver* drv = nullptr;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    auto it = g_ports.find(h);
    if (it == g_ports.end() || --it->second.refs > 0) return;
    drv = it->second.drv;
    g_ports.erase(it);
  }
  drv->close();
  delete drv;
}

struct Ctors {
  Napi::FunctionReference port, queue;
};

Napi::Error error(Napi::Env env, const std::string& msg) { return Napi::Error::New(env, msg); }

template <typename T>
T* typed_data(const Napi::Object& reg, const char* key, napi_typedarray_type type, const char* type_name,
              size_t& count) {
  Napi::Value v = reg.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw error(reg.Env(), std::string("openQueue: ") + key + " must be " + type_name);
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  count = ta.ElementLength();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
}

class Queue : public Napi::ObjectWrap<Queue> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Queue",
                       {InstanceMethod<&Queue::Stats>("stats"), InstanceMethod<&Queue::Close>("close"),
                        InstanceMethod<&Queue::BenchTx>("benchTx"), InstanceMethod<&Queue::BenchRx>("benchRx"),
                        InstanceMethod<&Queue::SetRxOut>("setRxOut"),
                        InstanceAccessor<&Queue::WaitFd>("waitFd"),
                        InstanceAccessor<&Queue::RxTimestamps>("rxTimestamps"),
                        InstanceAccessor<&Queue::TxTimestamps>("txTimestamps")});
  }

  // new Queue(handle, q, reg): only from Port.openQueue.
  explicit Queue(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Queue>(info) {
    Napi::Env env = info.Env();
    uint32_t h = info[0].As<Napi::Number>().Uint32Value();
    uint32_t qid = info[1].As<Napi::Number>().Uint32Value();
    Napi::Object reg = info[2].As<Napi::Object>();
    Napi::Value buf = reg.Get("buffer");
    if (!buf.IsArrayBuffer()) throw error(env, "openQueue: buffer must be an ArrayBuffer");
    Napi::ArrayBuffer ab = buf.As<Napi::ArrayBuffer>();
    size_t n_off, n_len, n_free, n_rx, n_tx;
    pool_.base = static_cast<uint8_t*>(ab.Data());
    pool_.slot_size = reg.Get("slotSize").As<Napi::Number>().Uint32Value();
    pool_.data_off = typed_data<uint16_t>(reg, "dataOff", napi_uint16_array, "a Uint16Array", n_off);
    pool_.data_len = typed_data<uint16_t>(reg, "dataLen", napi_uint16_array, "a Uint16Array", n_len);
    free_stack_ = typed_data<int32_t>(reg, "freeStack", napi_int32_array, "an Int32Array", n_free);
    pool_.headroom = reg.Get("headroom").As<Napi::Number>().Uint32Value();
    rx_slots_ = typed_data<int32_t>(reg, "rxSlots", napi_int32_array, "an Int32Array", n_rx);
    tx_slots_ = typed_data<int32_t>(reg, "txSlots", napi_int32_array, "an Int32Array", n_tx);
    if (pool_.slot_size == 0 || n_off != n_len || n_free != n_off || size_t(pool_.slot_size) * n_off > ab.ByteLength() ||
        pool_.headroom >= pool_.slot_size)
      throw error(env, "openQueue: buffer, slotSize, dataOff, dataLen, freeStack and headroom do not describe one pool");
    pool_.count = uint32_t(n_off);
    rx_cap_ = int(n_rx);
    rx_out_ = rx_slots_;
    rx_out_cap_ = rx_cap_;
    tx_cap_ = int(n_tx);
    size_t n_stamps = 0, n_tx_stamp = 0;
    if (reg.Has("rxStamps")) {
      rx_us_ = typed_data<double>(reg, "rxStamps", napi_float64_array, "a Float64Array", n_stamps);
      if (n_stamps < pool_.count) throw error(env, "openQueue: rxStamps needs one entry per slot");
    }
    if (reg.Has("txStamp")) {
      tx_us_ = typed_data<double>(reg, "txStamp", napi_float64_array, "a Float64Array", n_tx_stamp);
      if (n_tx_stamp < 1) throw error(env, "openQueue: txStamp needs one entry");
    }
    if (reg.Has("clockOriginNs")) origin_ns_ = int64_t(reg.Get("clockOriginNs").As<Napi::Number>().DoubleValue());
    pool_.rx_us = rx_us_;
    pool_.clock_origin_ns = origin_ns_;
    // The registered arrays must outlive the queue: the driver keeps raw pointers into them.
    keep_ = Napi::Persistent(reg);
    PortDriver* drv = port_ref(h);
    if (!drv) throw error(env, "openQueue: the port is closed");
    std::string err;
    q_ = drv->open_queue(qid, err);
    if (!q_) {
      port_unref(h);
      throw error(env, err);
    }
    handle_ = h;
    // rx and tx are the hot calls: plain N-API functions bound to this queue
    // (no wrapper, no unwrap), own properties of the queue object.
    Napi::Object self = info.This().As<Napi::Object>();
    self.DefineProperty(Napi::PropertyDescriptor::Value("rx", burst_fn(env, "rx", &Queue::RawRx), napi_default));
    self.DefineProperty(Napi::PropertyDescriptor::Value("tx", burst_fn(env, "tx", &Queue::RawTx), napi_default));
  }
  ~Queue() override { release(); }

 private:
  // Slot indices come from JS: a bad one must not reach the driver.
  bool slots_valid(const int32_t* s, int n) const {
    uint32_t bad = 0;  // no early exit: the loop vectorizes
    for (int i = 0; i < n; i++) bad |= uint32_t(s[i]) >= pool_.count;
    return bad == 0;
  }

  Napi::Value burst_fn(Napi::Env env, const char* name, napi_callback cb) {
    napi_value fn;
    NAPI_THROW_IF_FAILED(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, this, &fn), Napi::Value());
    return Napi::Value(env, fn);
  }

  // rx(n, top) / tx(n): one burst over the registered slots; frames moved, or -errno.
  // The functions hold a raw pointer to the queue: they are reachable only
  // through the queue object, so they do not outlive it.
  static napi_value RawRx(napi_env env, napi_callback_info info) { return raw_burst(env, info, false); }
  static napi_value RawTx(napi_env env, napi_callback_info info) { return raw_burst(env, info, true); }

  static napi_value raw_burst(napi_env env, napi_callback_info info, bool tx) {
    size_t argc = 2;
    napi_value args[2];
    void* data;
    int32_t n = 0, top = 0;
    napi_value out;
    if (napi_get_cb_info(env, info, &argc, args, nullptr, &data) != napi_ok || argc < (tx ? 1u : 2u) ||
        napi_get_value_int32(env, args[0], &n) != napi_ok || (!tx && napi_get_value_int32(env, args[1], &top) != napi_ok)) {
      napi_create_int32(env, -EINVAL, &out);
      return out;
    }
    Queue* q = static_cast<Queue*>(data);
    napi_create_int32(env, tx ? q->burst_tx(n) : q->burst_rx(n, top), &out);
    return out;
  }

  int burst_tx(int n) {
    if (!q_) return -EBADF;
    if (n > tx_cap_) n = tx_cap_;
    if (n <= 0) return 0;
    if (!slots_valid(tx_slots_, n)) return -EINVAL;
    if (!tx_us_) return q_->tx(pool_, tx_slots_, n);
    // The hand-over time is taken before the call, not after: on a veth the
    // call itself runs the peer's receive path, which may answer (and the
    // answer reach our ring) before it returns. The device's own stamp, where
    // it gives one, is later by the send path (10-25 µs on a cold cache) and
    // replaces it; a conversion that puts it earlier leaves the hand-over time.
    int64_t before = clock_ns(CLOCK_MONOTONIC);
    int64_t rt = 0;
    int r = q_->tx_stamped(pool_, tx_slots_, n, rt);
    int64_t at = before;
    if (rt != 0) {
      KernelStampClock c;
      int64_t dev = c.mono_ns(rt);
      if (dev > before) at = dev;
    }
    tx_us_[0] = double(at - origin_ns_) * 1e-3;
    return r;
  }


  // The top n free slots are the receive window; the driver fills them in
  // order, so the k used are window[0..k): they go out through rx_slots_ and
  // the unused rest slides down to stay on the stack.
  int burst_rx(int n, int top) {
    if (!q_) return -EBADF;
    if (top < 0 || uint32_t(top) > pool_.count) return -EINVAL;
    if (n > rx_out_cap_) n = rx_out_cap_;
    if (n > kMaxBurst) n = kMaxBurst;
    if (n > top) n = top;
    if (n <= 0) return 0;
    int32_t* window = free_stack_ + (top - n);
    if (!slots_valid(window, n)) return -EINVAL;
    int k = q_->rx(pool_, window, n);
    if (k <= 0) return k;
    memcpy(rx_out_, window, size_t(k) * sizeof(int32_t));
    memmove(window, window + k, size_t(n - k) * sizeof(int32_t));
    return k;
  }

  // The caller's own array receives the slot numbers: no copy on the JS side.
  Napi::Value SetRxOut(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw error(env, "setRxOut: the output must be an Int32Array");
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    rx_out_ = reinterpret_cast<int32_t*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
    rx_out_cap_ = int(ta.ElementLength());
    rx_out_keep_ = Napi::Persistent(ta.As<Napi::Object>());
    return env.Undefined();
  }

  Napi::Value RxTimestamps(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), q_ != nullptr && q_->rx_timestamps());
  }

  Napi::Value TxTimestamps(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), q_ != nullptr && q_->tx_timestamps());
  }

  Napi::Value WaitFd(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), q_ ? q_->wait_fd() : -1);
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    QueueStats s = q_ ? q_->stats() : last_;
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("rxFrames", double(s.rx_frames));
    o.Set("rxBytes", double(s.rx_bytes));
    o.Set("rxDropped", double(s.rx_dropped));
    o.Set("txFrames", double(s.tx_frames));
    o.Set("txBytes", double(s.tx_bytes));
    o.Set("txDropped", double(s.tx_dropped));
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    release();
    return info.Env().Undefined();
  }

  // benchTx(burst, frames, timeoutMs) / benchRx(...): the native-loop peer of bench/port.ts.
  Napi::Value BenchTx(const Napi::CallbackInfo& info) { return bench(info, true); }
  Napi::Value BenchRx(const Napi::CallbackInfo& info) { return bench(info, false); }

  Napi::Value bench(const Napi::CallbackInfo& info, bool tx) {
    Napi::Env env = info.Env();
    int burst = info[0].As<Napi::Number>().Int32Value();
    double frames = info[1].As<Napi::Number>().DoubleValue();
    double ms = info[2].As<Napi::Number>().DoubleValue();
    int cap = tx ? tx_cap_ : rx_cap_;
    int32_t* slots = tx ? tx_slots_ : rx_slots_;
    if (!q_) throw error(env, "bench: the queue is closed");
    if (burst <= 0 || burst > cap || !slots_valid(slots, burst)) throw error(env, "bench: bad burst");
    // The native loop is the reference without receive stamps: the JS path's ratio to it includes their cost.
    PoolRef bare = pool_;
    bare.rx_us = nullptr;
    BenchResult r = tx ? bench_tx(*q_, bare, slots, burst, uint64_t(frames), uint64_t(ms * 1e6))
                       : bench_rx(*q_, bare, slots, burst, uint64_t(frames), uint64_t(ms * 1e6));
    Napi::Object o = Napi::Object::New(env);
    o.Set("frames", double(r.frames));
    o.Set("calls", double(r.calls));
    o.Set("ns", double(r.ns));
    return o;
  }

  void release() {
    if (!q_) return;
    last_ = q_->stats();
    q_->close();
    delete q_;
    q_ = nullptr;
    port_unref(handle_);
    keep_.Reset();
    rx_out_keep_.Reset();
  }

  QueueDriver* q_ = nullptr;
  uint32_t handle_ = 0;
  PoolRef pool_;
  int32_t* free_stack_ = nullptr;
  int32_t* rx_slots_ = nullptr;
  int32_t* tx_slots_ = nullptr;
  int rx_cap_ = 0, tx_cap_ = 0;
  int32_t* rx_out_ = nullptr;
  int rx_out_cap_ = 0;
  double* rx_us_ = nullptr;
  double* tx_us_ = nullptr;
  int64_t origin_ns_ = 0;
  Napi::ObjectReference rx_out_keep_;
  QueueStats last_;
  Napi::ObjectReference keep_;
};

class Port : public Napi::ObjectWrap<Port> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Port",
                       {InstanceMethod<&Port::Caps>("caps"), InstanceMethod<&Port::OpenQueue>("openQueue"),
                        InstanceMethod<&Port::Close>("close"), InstanceAccessor<&Port::QueueCount>("queueCount"),
                        InstanceAccessor<&Port::Handle>("handle"), InstanceAccessor<&Port::Driver>("driver")});
  }

  // new Port(handle): takes a reference on a port of the table.
  explicit Port(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Port>(info) {
    handle_ = info[0].As<Napi::Number>().Uint32Value();
    drv_ = port_ref(handle_);
    if (!drv_) throw error(info.Env(), "no open port with handle " + std::to_string(handle_));
    std::lock_guard<std::mutex> lk(g_mu);
    driver_ = g_ports[handle_].driver;
  }
  ~Port() override { release(); }

 private:
  Napi::Value Caps(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!drv_) throw error(env, "the port is closed");
    const PortCaps& c = drv_->caps();
    Napi::Object o = Napi::Object::New(env);
    o.Set("mac", Napi::Buffer<uint8_t>::Copy(env, c.mac, 6));
    o.Set("mtu", c.mtu);
    o.Set("maxQueues", c.max_queues);
    o.Set("txChecksumOffload", c.tx_csum_offload);
    o.Set("rxChecksumValidated", c.rx_csum_validated);
    o.Set("rxVlanStrip", c.rx_vlan_strip);
    return o;
  }

  Napi::Value OpenQueue(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!drv_) throw error(env, "the port is closed");
    if (!info[0].IsNumber() || !info[1].IsObject()) throw error(env, "openQueue(q, registration)");
    Ctors* c = env.GetInstanceData<Ctors>();
    return c->queue.New({Napi::Number::New(env, handle_), info[0], info[1]});
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    release();
    return info.Env().Undefined();
  }

  Napi::Value QueueCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), drv_ ? drv_->queue_count() : 0);
  }
  Napi::Value Handle(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), handle_); }
  Napi::Value Driver(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), driver_); }

  void release() {
    if (!drv_) return;
    drv_ = nullptr;
    port_unref(handle_);
  }

  uint32_t handle_ = 0;
  PortDriver* drv_ = nullptr;
  std::string driver_;
};

Napi::Value Drivers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array a = Napi::Array::New(env);
  uint32_t i = 0;
  a.Set(i++, "af_packet");
  a.Set(i++, "tap");
#ifdef VG_HAVE_AF_XDP
  a.Set(i++, "af_xdp");
#endif
#ifdef VG_HAVE_DPDK
  a.Set(i++, "dpdk");
#endif
  return a;
}

// open(driver, options: {[k]: string}, ealArgs: string) -> Port
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw error(env, "open(driver, options, ealArgs)");
  std::string driver = info[0].As<Napi::String>();
  Options opts;
  if (info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    Napi::Array keys = o.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); i++) {
      std::string k = keys.Get(i).ToString();
      opts[k] = o.Get(k).ToString().Utf8Value();
    }
  }
  std::string eal = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  std::string err;
  PortDriver* drv = nullptr;
  if (driver == "af_packet") {
    drv = open_af_packet(opts, err);
  } else if (driver == "tap") {
    drv = open_tap(opts, err);
#ifdef VG_HAVE_AF_XDP
  } else if (driver == "af_xdp") {
    drv = open_af_xdp(opts, err);
#endif
#ifdef VG_HAVE_DPDK
  } else if (driver == "dpdk") {
    drv = open_dpdk(opts, eal, err);
#endif
  } else {
    throw error(env, "driver '" + driver + "' is not built into the native addon");
  }
  (void)eal;  // used only by dpdk, which may be left out of the build
  if (!drv) throw error(env, err.empty() ? driver + ": open failed" : err);
  uint32_t h;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    h = g_next_handle++;
    g_ports[h] = PortEntry{drv, driver, 0};
  }
  Ctors* c = env.GetInstanceData<Ctors>();
  return c->port.New({Napi::Number::New(env, h)});
}

Napi::Value Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw error(env, "attach(handle)");
  return env.GetInstanceData<Ctors>()->port.New({info[0]});
}

Napi::Value PinThread(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw error(env, "pinThread(cpu)");
  std::string err;
  if (!pin_thread(info[0].As<Napi::Number>().Int32Value(), err)) throw error(env, err);
  return env.Undefined();
}

Napi::Value GetAffinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<int> cpus;
  std::string err;
  if (!thread_affinity(cpus, err)) throw error(env, err);
  Napi::Array a = Napi::Array::New(env, cpus.size());
  for (uint32_t i = 0; i < cpus.size(); i++) a.Set(i, cpus[i]);
  return a;
}

// A poll loop with work in flight spins; when its core is shared (two
// generators on one machine), giving the rest of the time slice lets the
// peer run now instead of after the scheduler's tick.
Napi::Value YieldCpu(const Napi::CallbackInfo& info) {
  sched_yield();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Ctors* c = new Ctors();
  c->port = Napi::Persistent(Port::Init(env));
  c->queue = Napi::Persistent(Queue::Init(env));
  env.SetInstanceData(c);
  exports.Set("drivers", Napi::Function::New<Drivers>(env));
  exports.Set("open", Napi::Function::New<Open>(env));
  exports.Set("attach", Napi::Function::New<Attach>(env));
  exports.Set("pinThread", Napi::Function::New<PinThread>(env));
  exports.Set("getAffinity", Napi::Function::New<GetAffinity>(env));
  exports.Set("yieldCpu", Napi::Function::New<YieldCpu>(env));
  tls_engine_init(env, exports);
  return exports;
}

}  // namespace
}  // namespace vg

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return vg::Init(env, exports); }
NODE_API_MODULE(vaigai_native, InitModule)
