// Native TLS engine: Node's own OpenSSL (the symbols /usr/bin/node exports;
// the headers node-gyp puts on the include path; no libssl/libcrypto linked,
// so there is one OpenSSL in the process) driven per connection through two
// memory BIOs. JS surface (typed in src/tls/native_engine.ts):
//   new TlsContext(options)          an SSL_CTX: client or server policy, certs, ALPN, tickets...
//   ctx.addSni(name, ctx)            server: the context for an SNI host name (before first use)
//   new TlsConn(ctx, options)        one SSL over a BIO pair of its own
//   conn.feed(u8, off, len)          ciphertext in; bytes taken
//   conn.read(u8, off, len)          plaintext out (drives the handshake); bytes or a code
//   conn.write(u8, off, len)         plaintext in, encrypted at once; bytes or a code
//   conn.pull(u8, off, len)          ciphertext out; bytes
//   conn.pending()                   ciphertext waiting to be pulled
//   conn.shutdown()                  close_notify; conn.close() frees the SSL (idempotent)
//   conn.events(), info(), reused(), lastError()  handshake by-products, off the data path
//     events(): { keylog?, sessionsNew, sessionsAdded }; clears them
// Data-path calls take a Uint8Array range and return one int32: no object
// crosses, nothing is allocated. Codes (kept in sync with native_engine.ts):
//   >= 0 bytes; -1 fatal error (lastError()); -2 peer sent close_notify;
//   -3 handshake just completed; -4 events pending (events()); -5 bad
//   arguments; -6 connection closed.
#include "tls_engine.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <list>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace vg {
namespace {

constexpr int kError = -1;
constexpr int kPeerClosed = -2;
constexpr int kHandshakeDone = -3;
constexpr int kEvents = -4;
constexpr int kBadArgs = -5;
constexpr int kClosed = -6;

// Tells a TlsContext object apart from any other object passed as one.
constexpr napi_type_tag kCtxTag = {0x7661696741492d74ULL, 0x6c732d6374782d31ULL};

// "lib:func:reason" lines of the thread's OpenSSL error queue, which is then empty.
std::string drain_errors() {
  std::string s;
  char buf[256];
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!s.empty()) s += "; ";
    s += buf;
  }
  return s;
}

Napi::Error type_error(Napi::Env env, const std::string& msg) { return Napi::TypeError::New(env, msg); }

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
BioPtr mem_buf(const std::string& s) { return BioPtr(BIO_new_mem_buf(s.data(), int(s.size())), &BIO_free); }

// Values by key, least recently used dropped first; one worker thread uses it.
template <typename V>
struct LruStore {
  explicit LruStore(size_t cap) : cap(cap) {}
  void put(std::string key, V v) {
    auto it = by_key.find(key);
    if (it != by_key.end()) {
      lru.erase(it->second.second);
      by_key.erase(it);
    }
    lru.push_front(key);
    by_key.emplace(std::move(key), std::make_pair(std::move(v), lru.begin()));
    if (by_key.size() > cap) {
      by_key.erase(lru.back());
      lru.pop_back();
    }
  }
  const V* get(const std::string& key) {
    auto it = by_key.find(key);
    if (it == by_key.end()) return nullptr;
    lru.splice(lru.begin(), lru, it->second.second);
    return &it->second.first;
  }
  size_t cap;
  std::list<std::string> lru;
  std::unordered_map<std::string, std::pair<V, std::list<std::string>::iterator>> by_key;
};

// The server's session-ID cache, outside the SSL_CTX so that the context a
// certificate reload builds keeps the sessions issued before it (as node:tls,
// whose cache lives in the stream): sessions as DER by ID.
using SessionStore = LruStore<std::string>;

// The client's sessions by server key, kept as OpenSSL's objects: a DER round
// trip would parse the server's certificate again for each resumption
// (d2i_SSL_SESSION, OpenSSL 3.0's key decoder: more than the handshake's own work).
using SessionPtr = std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)>;
using ResumeStore = LruStore<SessionPtr>;
constexpr size_t kResumeKeys = 4096;

// An SSL_CTX and what its callbacks read. Immutable once connections use it:
// a certificate reload builds a new one (live connections keep theirs).
struct Ctx {
  SSL_CTX* ctx = nullptr;
  bool server = false;
  std::shared_ptr<SessionStore> sessions;  // server with a session-ID cache
  std::shared_ptr<ResumeStore> resumable;  // client that resumes
  bool keylog = false;
  std::string alpn;  // wire format: length-prefixed names
  std::map<std::string, std::shared_ptr<Ctx>> sni;
  ~Ctx() {
    if (ctx) SSL_CTX_free(ctx);
  }
};

// Per-connection state reachable from OpenSSL callbacks (SSL app data).
struct ConnState {
  std::string keylog;               // lines not yet taken, each with its newline
  int sessions_new = 0;             // client: sessions received, not yet counted
  int sessions_added = 0;           // server: sessions put in the cache, not yet counted
  std::shared_ptr<SessionStore> sessions;  // server: the cache of the context it started on
  std::shared_ptr<ResumeStore> resumable;  // client: its context's sessions, stored under session_key
  std::string session_key;
  bool events() const { return !keylog.empty() || sessions_new > 0 || sessions_added > 0; }
};

int g_conn_index = -1;
std::once_flag g_index_once;

ConnState* state_of(const SSL* ssl) { return static_cast<ConnState*>(SSL_get_ex_data(ssl, g_conn_index)); }

void keylog_cb(const SSL* ssl, const char* line) {
  ConnState* st = state_of(ssl);
  if (!st) return;
  st->keylog += line;
  st->keylog += '\n';
}

// Client: keep the newest session for resumption (tickets may come after the
// handshake, in TLS 1.3 as post-handshake messages). Server: count it.
int new_session_cb(SSL* ssl, SSL_SESSION* sess) {
  ConnState* st = state_of(ssl);
  if (!st) return 0;
  if (SSL_is_server(ssl)) {
    unsigned id_len = 0;
    const unsigned char* id = SSL_SESSION_get_id(sess, &id_len);
    int n = st->sessions ? i2d_SSL_SESSION(sess, nullptr) : 0;
    if (n > 0 && id_len > 0) {
      std::string der(size_t(n), '\0');
      unsigned char* p = reinterpret_cast<unsigned char*>(&der[0]);
      i2d_SSL_SESSION(sess, &p);
      st->sessions->put(std::string(reinterpret_cast<const char*>(id), id_len), std::move(der));
    }
    st->sessions_added++;
    return 0;
  }
  if (!st->resumable || st->session_key.empty()) return 0;
  SSL_SESSION_up_ref(sess);
  st->resumable->put(st->session_key, SessionPtr(sess, &SSL_SESSION_free));
  st->sessions_new++;
  return 0;  // the reference kept is our own
}

// Server: a session ID the client offered, from the store (OpenSSL checks its age and context).
SSL_SESSION* get_session_cb(SSL* ssl, const unsigned char* id, int len, int* copy) {
  *copy = 0;  // the new object is OpenSSL's
  ConnState* st = state_of(ssl);
  const std::string* der = st && st->sessions ? st->sessions->get(std::string(reinterpret_cast<const char*>(id), size_t(len))) : nullptr;
  if (!der) return nullptr;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
  return d2i_SSL_SESSION(nullptr, &p, long(der->size()));
}

// RFC 7301 §3.2: the server picks; first of its own list the client also offers. With no
// protocol in common the handshake ends with a fatal no_application_protocol alert (as node:tls).
int alpn_select_cb(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                   void* arg) {
  const Ctx* c = static_cast<const Ctx*>(arg);
  unsigned char* o = nullptr;
  if (SSL_select_next_proto(&o, outlen, reinterpret_cast<const unsigned char*>(c->alpn.data()),
                            unsigned(c->alpn.size()), in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = o;
  return SSL_TLSEXT_ERR_OK;
}

// RFC 6066 §3: the context (certificate) for the name the client asked for.
int servername_cb(SSL* ssl, int*, void* arg) {
  const Ctx* c = static_cast<const Ctx*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name || c->sni.empty()) return SSL_TLSEXT_ERR_OK;
  std::string k(name);
  for (char& ch : k) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  auto it = c->sni.find(k);
  if (it != c->sni.end()) SSL_set_SSL_CTX(ssl, it->second->ctx);
  return SSL_TLSEXT_ERR_OK;
}

// requestCert without verifyClient: ask for a certificate, accept whatever comes.
int accept_any_cb(int, X509_STORE_CTX*) { return 1; }

std::string str_opt(const Napi::Object& o, const char* k) {
  Napi::Value v = o.Get(k);
  if (v.IsUndefined() || v.IsNull()) return "";
  if (!v.IsString()) throw type_error(o.Env(), std::string("TlsContext: ") + k + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

int int_opt(const Napi::Object& o, const char* k, int def) {
  Napi::Value v = o.Get(k);
  if (v.IsUndefined()) return def;
  if (!v.IsNumber()) throw type_error(o.Env(), std::string("TlsContext: ") + k + " must be a number");
  return v.As<Napi::Number>().Int32Value();
}

bool bool_opt(const Napi::Object& o, const char* k) {
  Napi::Value v = o.Get(k);
  if (v.IsUndefined()) return false;
  if (!v.IsBoolean()) throw type_error(o.Env(), std::string("TlsContext: ") + k + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string bytes_opt(const Napi::Object& o, const char* k) {
  Napi::Value v = o.Get(k);
  if (v.IsUndefined() || v.IsNull()) return "";
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw type_error(o.Env(), std::string("TlsContext: ") + k + " must be a Uint8Array");
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  return std::string(reinterpret_cast<const char*>(a.Data()), a.ElementLength());
}

// Fills the context from the options; returns "" or what failed.
std::string configure(Ctx& c, const Napi::Object& o) {
  SSL_CTX* ctx = c.ctx;
  int minv = int_opt(o, "minVersion", TLS1_2_VERSION), maxv = int_opt(o, "maxVersion", TLS1_3_VERSION);
  if (!SSL_CTX_set_min_proto_version(ctx, minv) || !SSL_CTX_set_max_proto_version(ctx, maxv)) return "bad version range";
  // One cipher string as Node takes it: TLS 1.3 suite names (TLS_*) go to the suites.
  std::string ciphers = str_opt(o, "ciphers"), list, suites;
  for (size_t p = 0; p <= ciphers.size() && !ciphers.empty();) {
    size_t q = ciphers.find(':', p);
    if (q == std::string::npos) q = ciphers.size();
    std::string name = ciphers.substr(p, q - p);
    std::string& dst = name.rfind("TLS_", 0) == 0 ? suites : list;
    if (!name.empty()) dst += (dst.empty() ? "" : ":") + name;
    p = q + 1;
  }
  if (!list.empty() && !SSL_CTX_set_cipher_list(ctx, list.c_str())) return "bad cipher list '" + list + "'";
  if (!suites.empty() && !SSL_CTX_set_ciphersuites(ctx, suites.c_str())) return "bad TLS 1.3 suites '" + suites + "'";
  std::string groups = str_opt(o, "groups");
  if (!groups.empty() && !SSL_CTX_set1_groups_list(ctx, groups.c_str())) return "bad groups '" + groups + "'";

  std::string cert = str_opt(o, "cert"), key = str_opt(o, "key"), pass = str_opt(o, "passphrase");
  if (!cert.empty()) {
    BioPtr b = mem_buf(cert);
    X509* x = PEM_read_bio_X509_AUX(b.get(), nullptr, nullptr, nullptr);
    if (!x || SSL_CTX_use_certificate(ctx, x) != 1) {
      X509_free(x);
      return "bad certificate";
    }
    X509_free(x);
    while (X509* extra = PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr))
      if (!SSL_CTX_add0_chain_cert(ctx, extra)) {
        X509_free(extra);
        return "bad chain certificate";
      }
    ERR_clear_error();  // the end of the PEM stream
  }
  if (!key.empty()) {
    BioPtr b = mem_buf(key);
    EVP_PKEY* k = PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, pass.empty() ? nullptr : &pass[0]);
    if (!k || SSL_CTX_use_PrivateKey(ctx, k) != 1) {
      EVP_PKEY_free(k);
      return "bad private key";
    }
    EVP_PKEY_free(k);
    if (!cert.empty() && SSL_CTX_check_private_key(ctx) != 1) return "the key does not match the certificate";
  }
  std::string ca = str_opt(o, "ca");
  if (!ca.empty()) {
    BioPtr b = mem_buf(ca);
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int n = 0;
    while (X509* x = PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store, x);
      if (c.server) SSL_CTX_add_client_CA(ctx, x);
      X509_free(x);
      n++;
    }
    ERR_clear_error();
    if (n == 0) return "no certificate in the CA bundle";
  }
  bool verify = bool_opt(o, "verify"), required = bool_opt(o, "verifyRequired");
  if (c.server)
    SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER | (required ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0) : SSL_VERIFY_NONE,
                       verify && !required ? accept_any_cb : nullptr);
  else
    SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);

  c.alpn = bytes_opt(o, "alpn");
  if (!c.alpn.empty()) {
    if (c.server)
      SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, &c);
    else if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(c.alpn.data()), unsigned(c.alpn.size())) != 0)
      return "bad ALPN list";
  }
  if (c.server) {
    static const unsigned char sid_ctx[] = "vaigai";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    int cache = int_opt(o, "sessionCache", 0);
    SSL_CTX_set_session_cache_mode(ctx, cache > 0 ? SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL : SSL_SESS_CACHE_OFF);
    if (cache > 0) {
      c.sessions = std::make_shared<SessionStore>(size_t(cache));
      SSL_CTX_sess_set_get_cb(ctx, get_session_cb);
    }
    std::string tk = bytes_opt(o, "ticketKeys");
    if (!tk.empty() && SSL_CTX_set_tlsext_ticket_keys(ctx, &tk[0], long(tk.size())) != 1)
      return "ticketKeys must be " + std::to_string(SSL_CTX_set_tlsext_ticket_keys(ctx, nullptr, 0)) + " bytes";
    SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
    SSL_CTX_set_tlsext_servername_arg(ctx, &c);
  } else {
    // A client that does not resume keeps no session: OpenSSL then skips the
    // callback, and no session is serialized and copied to JS per handshake.
    bool resume = bool_opt(o, "resume");
    SSL_CTX_set_session_cache_mode(ctx, resume ? SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE : SSL_SESS_CACHE_OFF);
    if (resume) c.resumable = std::make_shared<ResumeStore>(kResumeKeys);
  }
  SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
  c.keylog = bool_opt(o, "keylog");
  if (c.keylog) SSL_CTX_set_keylog_callback(ctx, keylog_cb);
  // Records go into a memory BIO that never pushes back: a write completes whole
  // (no partial writes), and JS may pass another buffer each call.
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return "";
}

class TlsContext : public Napi::ObjectWrap<TlsContext> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "TlsContext", {InstanceMethod<&TlsContext::AddSni>("addSni")});
  }

  // new TlsContext({ server, minVersion, maxVersion, ciphers, groups, cert, key, passphrase,
  //                  ca, verify, verifyRequired, alpn, sessionCache, ticketKeys, keylog, sessionsFrom, resume })
  // sessionsFrom: an earlier server context (before a certificate reload) whose session-ID cache this one shares.
  explicit TlsContext(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TlsContext>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw type_error(env, "TlsContext(options)");
    Napi::Object o = info[0].As<Napi::Object>();
    c_ = std::make_shared<Ctx>();
    c_->server = bool_opt(o, "server");
    ERR_clear_error();
    c_->ctx = SSL_CTX_new(c_->server ? TLS_server_method() : TLS_client_method());
    if (!c_->ctx) throw Napi::Error::New(env, "SSL_CTX_new: " + drain_errors());
    std::string err = configure(*c_, o);
    if (!err.empty()) {
      std::string detail = drain_errors();
      throw Napi::Error::New(env, "TlsContext: " + err + (detail.empty() ? "" : " (" + detail + ")"));
    }
    TlsContext* from = TlsContext::from(o.Get("sessionsFrom"));
    if (from && c_->sessions && from->c_->sessions) c_->sessions = from->c_->sessions;
    napi_type_tag_object(env, info.This(), &kCtxTag);
  }

  const std::shared_ptr<Ctx>& ctx() const { return c_; }
  bool used = false;

  static TlsContext* from(Napi::Value v) {
    bool ok = false;
    if (!v.IsObject() || napi_check_object_type_tag(v.Env(), v, &kCtxTag, &ok) != napi_ok || !ok) return nullptr;
    return Unwrap(v.As<Napi::Object>());
  }

 private:
  Napi::Value AddSni(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    TlsContext* other = info.Length() >= 2 ? from(info[1]) : nullptr;
    if (!info[0].IsString() || !other) throw type_error(env, "addSni(name: string, ctx: TlsContext)");
    if (!c_->server || !other->c_->server) throw type_error(env, "addSni: both contexts must be server contexts");
    if (used) throw Napi::Error::New(env, "addSni: the context already has connections");
    std::string k = info[0].As<Napi::String>().Utf8Value();
    for (char& ch : k) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    c_->sni[k] = other->c_;
    return env.Undefined();
  }

  std::shared_ptr<Ctx> c_;
};

class TlsConn : public Napi::ObjectWrap<TlsConn> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "TlsConn",
                       {InstanceMethod<&TlsConn::Feed>("feed"), InstanceMethod<&TlsConn::Read>("read"),
                        InstanceMethod<&TlsConn::Write>("write"), InstanceMethod<&TlsConn::Pull>("pull"),
                        InstanceMethod<&TlsConn::Pending>("pending"), InstanceMethod<&TlsConn::Shutdown>("shutdown"),
                        InstanceMethod<&TlsConn::Close>("close"), InstanceMethod<&TlsConn::Events>("events"),
                        InstanceMethod<&TlsConn::Info>("info"), InstanceMethod<&TlsConn::Reused>("reused"),
                        InstanceMethod<&TlsConn::LastError>("lastError")});
  }

  // new TlsConn(ctx, { servername?, verifyHost?, verifyIp?, sessionKey? })
  // sessionKey: the server's key in the context's session store (a resuming
  // client): the newest session stored under it is offered, and the ones this
  // connection receives are stored under it.
  explicit TlsConn(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TlsConn>(info) {
    Napi::Env env = info.Env();
    TlsContext* tc = info.Length() >= 1 ? TlsContext::from(info[0]) : nullptr;
    if (!tc) throw type_error(env, "TlsConn(ctx: TlsContext, options)");
    Napi::Object o = info.Length() >= 2 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
    std::string sni = str_opt(o, "servername"), host = str_opt(o, "verifyHost"), ip = str_opt(o, "verifyIp");
    std::string key = str_opt(o, "sessionKey");
    tc->used = true;
    ctx_ = tc->ctx();
    ERR_clear_error();
    ssl_ = SSL_new(ctx_->ctx);
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    if (!ssl_ || !in || !out) {
      BIO_free(in);
      BIO_free(out);
      release();
      throw Napi::Error::New(env, "SSL_new: " + drain_errors());
    }
    // An empty input BIO means "wait for more", not end of stream.
    BIO_set_mem_eof_return(in, -1);
    in_ = in;
    out_ = out;
    SSL_set_bio(ssl_, in, out);
    SSL_set_ex_data(ssl_, g_conn_index, &st_);
    st_.sessions = ctx_->sessions;
    st_.resumable = ctx_->resumable;
    if (ctx_->server) {
      SSL_set_accept_state(ssl_);
    } else {
      SSL_set_connect_state(ssl_);
      if (!sni.empty() && !SSL_set_tlsext_host_name(ssl_, sni.c_str())) fail_setup(env, "bad servername");
      if (!host.empty() && !SSL_set1_host(ssl_, host.c_str())) fail_setup(env, "bad verifyHost");
      if (!ip.empty() && !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), ip.c_str())) fail_setup(env, "bad verifyIp");
      if (st_.resumable && !key.empty()) {
        st_.session_key = key;
        if (const SessionPtr* s = st_.resumable->get(key)) SSL_set_session(ssl_, s->get());
      }
    }
  }
  ~TlsConn() override { release(); }

 private:
  [[noreturn]] void fail_setup(Napi::Env env, const std::string& what) {
    release();
    throw type_error(env, "TlsConn: " + what);
  }

  // The Uint8Array range [off, off + len) of args 0..2, or false.
  static bool span(const Napi::CallbackInfo& info, uint8_t*& p, size_t& n) {
    if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber()) return false;
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_uint8_array) return false;
    double off = info[1].As<Napi::Number>().DoubleValue(), len = info[2].As<Napi::Number>().DoubleValue();
    double cap = double(ta.ElementLength());
    if (!(off >= 0) || !(len >= 0) || off + len > cap || len > 0x7fffffff) return false;
    p = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset() + size_t(off);
    n = size_t(len);
    return true;
  }

  Napi::Value num(const Napi::CallbackInfo& info, int v) { return Napi::Number::New(info.Env(), v); }

  // After a failed SSL call: the code for JS, keeping the reason for lastError().
  int failed(int r) {
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return st_.events() ? kEvents : 0;
    if (e == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      return kPeerClosed;
    }
    dead_ = true;
    err_ = drain_errors();
    // The verify result is the cause only when this side verifies (verify mode set, no accept-any
    // callback) and the handshake has not completed; otherwise it names a result that was ignored.
    long v = SSL_get_verify_result(ssl_);
    bool verifies = (SSL_get_verify_mode(ssl_) & SSL_VERIFY_PEER) != 0 && SSL_get_verify_callback(ssl_) == nullptr;
    if (v != X509_V_OK && verifies && !SSL_is_init_finished(ssl_))
      err_ = std::string("certificate verify failed: ") + X509_verify_cert_error_string(v) + (err_.empty() ? "" : " (" + err_ + ")");
    if (err_.empty()) err_ = e == SSL_ERROR_SYSCALL ? "unexpected end of the TLS stream" : "TLS error " + std::to_string(e);
    return kError;
  }

  // feed(u8, off, len): ciphertext from the transport.
  Napi::Value Feed(const Napi::CallbackInfo& info) {
    uint8_t* p;
    size_t n;
    if (!span(info, p, n)) return num(info, kBadArgs);
    if (!ssl_) return num(info, kClosed);
    if (n == 0) return num(info, 0);
    return num(info, BIO_write(in_, p, int(n)));
  }

  // read(u8, off, len): plaintext, or a code. Before the handshake completes it
  // drives the handshake; completion is reported once (kHandshakeDone).
  Napi::Value Read(const Napi::CallbackInfo& info) {
    uint8_t* p;
    size_t n;
    if (!span(info, p, n) || n == 0) return num(info, kBadArgs);
    if (!ssl_) return num(info, kClosed);
    if (dead_) return num(info, kError);
    if (st_.events()) return num(info, kEvents);
    if (peer_closed_) return num(info, kPeerClosed);
    ERR_clear_error();
    if (!handshake_done_) {
      int r = SSL_do_handshake(ssl_);
      if (r != 1) return num(info, failed(r));
      handshake_done_ = true;
      return num(info, kHandshakeDone);
    }
    int r = SSL_read(ssl_, p, int(n));
    return num(info, r > 0 ? r : failed(r));
  }

  // write(u8, off, len): plaintext to encrypt into the output BIO.
  Napi::Value Write(const Napi::CallbackInfo& info) {
    uint8_t* p;
    size_t n;
    if (!span(info, p, n)) return num(info, kBadArgs);
    if (!ssl_) return num(info, kClosed);
    if (dead_) return num(info, kError);
    if (n == 0) return num(info, 0);
    ERR_clear_error();
    int r = SSL_write(ssl_, p, int(n));
    if (r > 0) return num(info, r);
    int code = failed(r);
    return num(info, code == kEvents ? 0 : code);
  }

  // pull(u8, off, len): ciphertext for the transport.
  Napi::Value Pull(const Napi::CallbackInfo& info) {
    uint8_t* p;
    size_t n;
    if (!span(info, p, n)) return num(info, kBadArgs);
    if (!ssl_) return num(info, kClosed);
    if (n == 0 || BIO_ctrl_pending(out_) == 0) return num(info, 0);
    int r = BIO_read(out_, p, int(n));
    return num(info, r > 0 ? r : 0);
  }

  Napi::Value Pending(const Napi::CallbackInfo& info) {
    return num(info, ssl_ ? int(BIO_ctrl_pending(out_)) : 0);
  }

  // shutdown(): queue our close_notify (RFC 8446 §6.1); 0, or a code.
  Napi::Value Shutdown(const Napi::CallbackInfo& info) {
    if (!ssl_) return num(info, kClosed);
    if (dead_ || !handshake_done_) return num(info, 0);
    ERR_clear_error();
    int r = SSL_shutdown(ssl_);
    if (r < 0) {
      int e = SSL_get_error(ssl_, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) err_ = drain_errors();
    }
    ERR_clear_error();
    return num(info, 0);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    release();
    return info.Env().Undefined();
  }

  Napi::Value Events(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    if (!st_.keylog.empty()) o.Set("keylog", Napi::String::New(env, st_.keylog));
    o.Set("sessionsNew", st_.sessions_new);
    o.Set("sessionsAdded", st_.sessions_added);
    st_.keylog.clear();
    st_.sessions_new = 0;
    st_.sessions_added = 0;
    return o;
  }

  // info(): what the handshake negotiated.
  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    if (!ssl_) return o;
    o.Set("handshakeDone", handshake_done_);
    o.Set("version", SSL_get_version(ssl_));
    const SSL_CIPHER* c = SSL_get_current_cipher(ssl_);
    if (c) o.Set("cipher", SSL_CIPHER_get_name(c));
    const unsigned char* alpn = nullptr;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
    if (alpn_len > 0) o.Set("alpn", std::string(reinterpret_cast<const char*>(alpn), alpn_len));
    const char* sni = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
    if (sni) o.Set("servername", sni);
    o.Set("reused", SSL_session_reused(ssl_) == 1);
    X509* peer = SSL_get1_peer_certificate(ssl_);
    if (peer) {
      char subj[256];
      X509_NAME_oneline(X509_get_subject_name(peer), subj, sizeof subj);
      o.Set("peerSubject", subj);
      X509_free(peer);
    }
    return o;
  }

  // reused(): the handshake resumed a session (what a counter needs, without info()'s strings).
  Napi::Value Reused(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), ssl_ && SSL_session_reused(ssl_) == 1);
  }

  Napi::Value LastError(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), err_); }

  void release() {
    if (ssl_) SSL_free(ssl_);  // frees both BIOs
    ssl_ = nullptr;
    in_ = out_ = nullptr;
    ctx_.reset();
  }

  std::shared_ptr<Ctx> ctx_;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;
  BIO* out_ = nullptr;
  ConnState st_;
  bool handshake_done_ = false;
  bool peer_closed_ = false;
  bool dead_ = false;
  std::string err_;
};

}  // namespace

void tls_engine_init(Napi::Env env, Napi::Object exports) {
  // Worker threads load the addon too: one index for all.
  std::call_once(g_index_once, [] { g_conn_index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr); });
  exports.Set("TlsContext", TlsContext::Init(env));
  exports.Set("TlsConn", TlsConn::Init(env));
  exports.Set("opensslVersion", Napi::String::New(env, OpenSSL_version(OPENSSL_VERSION)));
}

}  // namespace vg
