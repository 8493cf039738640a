# The packet-I/O addon. af_packet and tap need only the kernel headers; af_xdp
# and dpdk are built only when pkg-config finds their libraries (the other
# drivers still build without them, see scripts/build-native.mjs), and can be
# left out on purpose with VAIGAI_NO_AF_XDP=1 / VAIGAI_NO_DPDK=1.
{
  "variables": {
    "have_af_xdp": "<!(test -z \"$VAIGAI_NO_AF_XDP\" && pkg-config --exists libxdp libbpf && echo 1 || echo 0)",
    "have_dpdk": "<!(test -z \"$VAIGAI_NO_DPDK\" && pkg-config --exists libdpdk && echo 1 || echo 0)"
  },
  "targets": [
    {
      "target_name": "vaigai_native",
      "sources": [
        "native/addon.cc",
        "native/affinity.cc",
        "native/bench_native.cc",
        "native/port_af_packet.cc",
        "native/port_tap.cc",
        "native/tls_engine.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2", "-ftree-vectorize", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "conditions": [
        ["have_af_xdp==1", {
          "sources": ["native/port_af_xdp.cc"],
          "defines": ["VG_HAVE_AF_XDP"],
          "cflags_cc": ["<!@(pkg-config --cflags libxdp libbpf 2>/dev/null || true)"],
          "libraries": ["<!@(pkg-config --libs libxdp libbpf 2>/dev/null || true)"]
        }],
        ["have_dpdk==1", {
          "sources": ["native/port_dpdk.cc"],
          "defines": ["VG_HAVE_DPDK"],
          "cflags_cc": ["<!@(pkg-config --cflags libdpdk 2>/dev/null || true)"],
          "libraries": ["<!@(pkg-config --libs libdpdk 2>/dev/null || true)", "-lrte_net_ring"]
        }]
      ]
    }
  ]
}
