// sim/mount_state.hpp — `cmasim mount --state FILE`: the emulated machine between mounts.
//
// The machine (cma::device::emulated_kernel) is deterministic: the same boot and the same
// state-changing calls at the same emulated times give the same state, bit for bit — the
// bitmap, the module's list and held pages, the counters, the log and trace rings, the
// failure ratelimit.  So the state file is a journal: a header naming the boot, then one
// line per call that changes the state (writes, reads of dev/cma_test, truncating the
// trace), with its time, task and result.  Restoring replays the journal and checks each
// result; the mount then appends to the same file as it serves, so nothing is lost if it
// is killed.  Restoring takes time in proportion to the journal's length (about 1 µs per
// call; see README), and no memory in proportion to it: lines are read one at a time.
//
//   cmasim-mount-state 1
//   kernel 4.15
//   arch x86_64
//   mem 4294967296
//   cmdline <the kernel's whole command line>
//   cma-debug 0
//   w <ns> <pid> <comm hex> <path> <data hex> <rc>     write(2): rc = bytes or -errno
//   r <ns> <pid> <comm hex> <path> <len> <off> <rc>    read(2) of dev/cma_test
//   t <ns> <path>                                      open(O_TRUNC) of the trace
// Hex so that any byte a shell may write survives (a write is at most FUSE's 128 KiB).
#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace cmasim::mount_state {

inline constexpr std::string_view magic = "cmasim-mount-state 1";

struct header {
  std::string kernel, arch, cmdline;
  std::uint64_t mem = 0;
  bool cma_debug = false;
};

struct entry {
  char op = 'w'; ///< 'w' write, 'r' read, 't' truncate
  std::uint64_t ns = 0;
  int pid = 0;
  std::string comm, path, data;
  std::uint64_t len = 0, off = 0;
  long long rc = 0;
};

inline std::string to_hex(std::string_view s) {
  static constexpr char d[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2 + 1);
  for (unsigned char c : s) out += d[c >> 4], out += d[c & 15];
  return out.empty() ? "-" : out; // "-" keeps an empty field a field
}
inline std::optional<std::string> from_hex(std::string_view h) {
  if (h == "-") return std::string();
  if (h.size() % 2) return std::nullopt;
  std::string out;
  const auto v = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
  for (std::size_t i = 0; i < h.size(); i += 2) {
    const int a = v(h[i]), b = v(h[i + 1]);
    if (a < 0 || b < 0) return std::nullopt;
    out += static_cast<char>(a * 16 + b);
  }
  return out;
}

inline std::string header_text(const header& h) {
  return std::string(magic) + "\nkernel " + h.kernel + "\narch " + h.arch + "\nmem " + std::to_string(h.mem) +
         "\ncmdline " + h.cmdline + "\ncma-debug " + (h.cma_debug ? "1" : "0") + "\n";
}

inline std::string entry_text(const entry& e) {
  const std::string head = std::string(1, e.op) + " " + std::to_string(e.ns);
  if (e.op == 't') return head + " " + e.path + "\n";
  const std::string who = " " + std::to_string(e.pid) + " " + to_hex(e.comm) + " " + e.path + " ";
  if (e.op == 'r')
    return head + who + std::to_string(e.len) + " " + std::to_string(e.off) + " " + std::to_string(e.rc) + "\n";
  return head + who + to_hex(e.data) + " " + std::to_string(e.rc) + "\n";
}

/// One header line (`n` from 1) into `h`; the error says what line n should have been.
inline std::optional<std::string> parse_header_line(std::size_t n, const std::string& line, header& h) {
  const auto value = [&](std::string_view key) -> std::optional<std::string> {
    if (line.rfind(std::string(key) + " ", 0) != 0) return std::nullopt;
    return line.substr(key.size() + 1);
  };
  switch (n) {
  case 1:
    if (line != magic) return "expected '" + std::string(magic) + "' (not a cmasim mount state file)";
    return std::nullopt;
  case 2:
    if (auto v = value("kernel")) return h.kernel = *v, std::nullopt;
    return std::string("expected 'kernel <version>'");
  case 3:
    if (auto v = value("arch")) return h.arch = *v, std::nullopt;
    return std::string("expected 'arch arm64|x86_64'");
  case 4:
    if (auto v = value("mem"); v && !v->empty() && v->find_first_not_of("0123456789") == std::string::npos &&
                               v->size() < 20)
      return h.mem = std::stoull(*v), std::nullopt;
    return std::string("expected 'mem <bytes>'");
  case 5:
    if (auto v = value("cmdline")) return h.cmdline = *v, std::nullopt;
    return std::string("expected 'cmdline <the kernel command line>'");
  case 6:
    if (line == "cma-debug 0" || line == "cma-debug 1") return h.cma_debug = line.back() == '1', std::nullopt;
    return std::string("expected 'cma-debug 0|1'");
  default: return std::string("a header has 6 lines");
  }
}

/// A journal line, or nullopt (the line is not one of the three forms).
inline std::optional<entry> parse_entry(const std::string& line) {
  std::istringstream s(line);
  std::vector<std::string> w;
  for (std::string x; s >> x;) w.push_back(x);
  const auto num = [](const std::string& x, auto& out, bool sign = false) {
    if (x.empty() || x.size() > 20) return false;
    std::size_t i = sign && x[0] == '-' ? 1 : 0;
    if (i == x.size() || x.find_first_not_of("0123456789", i) != std::string::npos) return false;
    try {
      if (sign) out = static_cast<std::remove_reference_t<decltype(out)>>(std::stoll(x));
      else out = static_cast<std::remove_reference_t<decltype(out)>>(std::stoull(x));
    } catch (...) {
      return false;
    }
    return true;
  };
  entry e;
  if (w.empty() || w[0].size() != 1) return std::nullopt;
  e.op = w[0][0];
  if (!num(w.size() > 1 ? w[1] : "", e.ns)) return std::nullopt;
  if (e.op == 't' && w.size() == 3) return e.path = w[2], e;
  if ((e.op == 'w' && w.size() == 7) || (e.op == 'r' && w.size() == 8)) {
    auto comm = from_hex(w[3]);
    if (!num(w[2], e.pid) || !comm) return std::nullopt;
    e.comm = *comm;
    e.path = w[4];
    if (e.op == 'r') {
      if (!num(w[5], e.len) || !num(w[6], e.off) || !num(w[7], e.rc, true)) return std::nullopt;
      return e;
    }
    auto data = from_hex(w[5]);
    if (!data || !num(w[6], e.rc, true)) return std::nullopt;
    e.data = *data;
    return e;
  }
  return std::nullopt;
}

} // namespace cmasim::mount_state
