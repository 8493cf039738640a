// Native TLS engine (native/tls_engine.cc): OpenSSL contexts and per-connection
// SSL objects over memory BIOs, driven from JS (src/tls/native_engine.ts).
#pragma once
#include <napi.h>

namespace vg {

// Adds TlsContext and TlsConn to the addon's exports.
void tls_engine_init(Napi::Env env, Napi::Object exports);

}  // namespace vg
