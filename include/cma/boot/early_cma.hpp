// cma/boot/early_cma.hpp — the boot command line as the CMA code sees it: `cma=`,
// `cma_pernuma=`, `numa_cma=`, `coherent_pool=`.
//
// Models (read in 6.1.192 and 6.12.117 unless noted):
//  - kernel/params.c next_arg()/parse_args(): words split at kernel-isspace()
//    characters outside double quotes, `param=value`, quotes stripped from the
//    value, parsing stops at a bare `--` (the rest goes to init);
//  - init/main.c do_early_param(): every early_param whose name matches
//    (parameq: '-' and '_' compare equal) is called, in command-line order, so
//    a later `cma=` overwrites an earlier one field by field;
//  - kernel/dma/contiguous.c early_cma(): size = memparse(v); then only if '@'
//    follows: base = memparse; then only if '-' follows: limit = memparse, else
//    limit = base + size.  Everything after that is ignored.  Note the kernel
//    keeps base/limit from an earlier `cma=` when a later one has no '@'.
//    4.15 (drivers/base/dma-contiguous.c) has no NULL check for a bare `cma`;
//    5.10+ prints "cma: Config string not provided" and do_early_param adds
//    "Malformed early option 'cma'";
//  - early_cma_pernuma() (5.10+): memparse; early_numa_cma() (6.6+):
//    `<nid>:<size>[,<nid>:<size>…]`, node via sscanf("%lu"), stop at a node
//    >= MAX_NUMNODES or at anything malformed;
//  - kernel/dma/pool.c early_coherent_pool(): memparse.
// Knowingly different: `numa_cma=` node numbers are parsed as sscanf %lu does
// for plain decimal digits (optional leading spaces and '+'); MAX_NUMNODES is a
// parameter (Debian arm64/x86: NODES_SHIFT 6 → 64).
//
// Invariants: a cma_cmdline with given == false has size == size_unset; the
// parser never throws and never reads past the text.
#pragma once

#include "../kernel_version.hpp"
#include "memparse.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cma {

/// The longest command line the kernel keeps: COMMAND_LINE_SIZE 2048 (arm64
/// arch/arm64/include/uapi/asm/setup.h, x86 arch/x86/include/asm/setup.h; the same
/// from 4.15 to 6.12) including the NUL.  arm64 copies /chosen/bootargs with a
/// size of min(property length, COMMAND_LINE_SIZE) (drivers/of/fdt.c
/// early_init_dt_scan_chosen), x86 boot_command_line is that size and the boot
/// protocol's cmdline_size is one less: either way the first 2047 characters are
/// what parse_early_param() sees, and a `cma=` beyond them is never read.
inline constexpr std::size_t command_line_max_chars = 2047;

/// One `param[=value]` word of the command line after next_arg().
struct kernel_param {
  std::string name;
  std::optional<std::string> value; ///< nullopt when there was no '='
};

/// What early_cma() leaves in size_cmdline / base_cmdline / limit_cmdline.
struct cma_cmdline {
  static constexpr std::uint64_t size_unset = ~std::uint64_t{0}; ///< size_cmdline's initial -1
  bool given = false;                 ///< size_cmdline != -1
  std::uint64_t size = size_unset;    ///< bytes
  std::uint64_t base = 0;             ///< bytes; 0 = anywhere
  std::uint64_t limit = 0;            ///< bytes; 0 = no user limit
  std::string raw;                    ///< the last `cma=` value as written
  std::string ignored_tail;           ///< what early_cma did not parse of it ("" if all)
};

/// Everything the CMA boot code reads from the command line.
struct early_cma_params {
  cma_cmdline cma;
  std::uint64_t pernuma_size = 0;               ///< cma_pernuma= (bytes), 0 = off
  bool pernuma_given = false, numa_cma_given = false; ///< the option was there (numa_cma_configured)
  std::map<unsigned, std::uint64_t> numa_cma;   ///< numa_cma= node → bytes
  std::optional<std::uint64_t> coherent_pool;   ///< coherent_pool= (bytes)
  bool memblock_debug = false;                  ///< memblock=debug
  std::vector<std::string> messages;            ///< kernel lines the parsing prints
  std::vector<std::string> debug_messages;      ///< its pr_debug lines (4.15 early_cma)
  std::vector<std::string> notes;               ///< model remarks (ignored junk, …)
};

namespace detail {

/// lib/ctype.c isspace(): the C locale set plus Latin-1 NBSP (0xA0).
constexpr bool kernel_isspace(char c) noexcept {
  const unsigned char u = static_cast<unsigned char>(c);
  return u == ' ' || (u >= '\t' && u <= '\r') || u == 0xA0;
}

constexpr std::size_t skip_spaces(std::string_view s, std::size_t i) noexcept {
  while (i < s.size() && kernel_isspace(s[i])) ++i;
  return i;
}

/// next_arg(): one word starting at i (no leading space); returns the word and
/// the index after it and its trailing spaces.
inline std::pair<kernel_param, std::size_t> next_arg(std::string_view s, std::size_t i) {
  bool in_quote = false;
  bool quoted = false;
  if (i < s.size() && s[i] == '"') {
    ++i;
    in_quote = quoted = true;
  }
  std::size_t j = i;
  std::size_t equals = std::string_view::npos;
  for (; j < s.size(); ++j) {
    if (kernel_isspace(s[j]) && !in_quote) break;
    // The kernel's "equals == 0" means "none yet", so an '=' at offset 0 is skipped.
    if (equals == std::string_view::npos && s[j] == '=' && j != i) equals = j;
    if (s[j] == '"') in_quote = !in_quote;
  }
  const std::string w(s.substr(i, j - i));
  const std::size_t n = w.size();
  // The kernel NULs a closing quote (args[i-1] == '"') of a quoted word or value.
  bool cut = quoted && n > 0 && w[n - 1] == '"';
  std::size_t val_begin = n;
  if (equals != std::string_view::npos) {
    val_begin = equals - i + 1;
    if (val_begin < n && w[val_begin] == '"') {
      ++val_begin;
      cut = cut || (n > 0 && w[n - 1] == '"');
    }
  }
  const std::size_t end = cut ? n - 1 : n;
  kernel_param p;
  if (equals == std::string_view::npos) {
    p.name = w.substr(0, end);
  } else {
    p.name = w.substr(0, equals - i);
    p.value = val_begin <= end ? w.substr(val_begin, end - val_begin) : std::string();
  }
  if (j < s.size()) ++j; // the separator the kernel overwrites with NUL
  return {std::move(p), skip_spaces(s, j)};
}

/// parameq(): names compare with '-' and '_' equal.
constexpr bool parameq(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] == '-' ? '_' : a[i];
    const char y = b[i] == '-' ? '_' : b[i];
    if (x != y) return false;
  }
  return true;
}

/// sscanf(s, "%lu%n"): decimal digits after optional spaces and '+'.
inline std::optional<std::pair<std::uint64_t, std::size_t>> scan_lu(std::string_view s) {
  std::size_t i = skip_spaces(s, 0);
  if (i < s.size() && s[i] == '+') ++i;
  const std::size_t digits = i;
  std::uint64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + unsigned(s[i++] - '0');
  if (i == digits) return std::nullopt;
  return std::pair{v, i};
}

} // namespace detail

/// parse_args() word splitting, stopping at `--`.  The text ends at a NUL.
inline std::vector<kernel_param> split_cmdline(std::string_view text) {
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) text = text.substr(0, nul);
  std::vector<kernel_param> out;
  for (std::size_t i = detail::skip_spaces(text, 0); i < text.size();) {
    auto [p, next] = detail::next_arg(text, i);
    if (!p.value && p.name == "--") break;
    out.push_back(std::move(p));
    i = next;
  }
  return out;
}

/// early_cma(p) applied to `state`; messages get the kernel lines it prints.
inline void early_cma(cma_cmdline& state, std::optional<std::string_view> value,
                      const kernel_version& kv, std::vector<std::string>& messages,
                      std::vector<std::string>& debug_messages) {
  if (!value) {
    if (kv >= kernel_version{5, 10}) {
      messages.push_back("cma: Config string not provided");
      messages.push_back("Malformed early option 'cma'");
    }
    return; // 4.15 would dereference NULL; the caller warns
  }
  if (kv < kernel_version{5, 0}) debug_messages.push_back("cma: early_cma(" + std::string(*value) + ")");
  const std::string_view v = *value;
  state.raw = std::string(v);
  state.ignored_tail.clear();
  const memparse_result size = memparse(v);
  state.size = size.value;
  // size_cmdline starts as (phys_addr_t)-1 and dma_contiguous_reserve() tests
  // `size_cmdline != -1` (4.15 drivers/base/dma-contiguous.c through 6.18
  // kernel/dma/contiguous.c): a value that memparses to 2^64-1 is
  // indistinguishable from "no cma=", so the Kconfig size is used.
  state.given = state.size != cma_cmdline::size_unset;
  std::size_t at = size.consumed;
  if (detail::char_at(v, at) == '@') {
    const memparse_result base = memparse(v.substr(at + 1));
    state.base = base.value;
    at += 1 + base.consumed;
    if (detail::char_at(v, at) == '-') {
      const memparse_result limit = memparse(v.substr(at + 1));
      state.limit = limit.value;
      at += 1 + limit.consumed;
    } else {
      state.limit = state.base + state.size;
    }
  }
  state.ignored_tail = std::string(v.substr(at));
}

/// early_numa_cma(): fills node → size until the first malformed item.
inline void early_numa_cma(std::map<unsigned, std::uint64_t>& sizes, std::string_view s,
                           unsigned max_numnodes) {
  while (!s.empty()) {
    const auto node = detail::scan_lu(s);
    if (!node || detail::char_at(s, node->second) != ':') break;
    if (node->first >= max_numnodes) break;
    s.remove_prefix(node->second + 1);
    const memparse_result size = memparse(s);
    sizes[static_cast<unsigned>(node->first)] = size.value;
    s.remove_prefix(size.consumed);
    if (s.empty() || s.front() != ',') break;
    s.remove_prefix(1);
  }
}

/// Every early parameter the CMA boot code reads, in command-line order.
inline early_cma_params parse_early_cma_params(std::string_view cmdline, const kernel_version& kv,
                                               unsigned max_numnodes = 64) {
  early_cma_params out;
  if (const auto nul = cmdline.find('\0'); nul != std::string_view::npos) cmdline = cmdline.substr(0, nul);
  if (cmdline.size() > command_line_max_chars) {
    out.notes.push_back("the command line has " + std::to_string(cmdline.size()) +
                        " characters; the kernel keeps the first " +
                        std::to_string(command_line_max_chars) +
                        " (COMMAND_LINE_SIZE 2048 on arm64 and x86) and parses only those");
    cmdline = cmdline.substr(0, command_line_max_chars);
  }
  for (const kernel_param& p : split_cmdline(cmdline)) {
    const std::optional<std::string_view> v =
        p.value ? std::optional<std::string_view>(*p.value) : std::nullopt;
    if (detail::parameq(p.name, "cma")) {
      if (!v && kv < kernel_version{5, 10})
        out.notes.push_back("bare `cma` without a value: 4.15 early_cma() dereferences NULL");
      early_cma(out.cma, v, kv, out.messages, out.debug_messages);
    } else if (detail::parameq(p.name, "cma_pernuma") && kv >= kernel_version{5, 10}) {
      if (v) out.pernuma_size = memparse(*v).value, out.pernuma_given = true;
    } else if (detail::parameq(p.name, "numa_cma") && kv >= kernel_version{6, 6}) {
      if (v) early_numa_cma(out.numa_cma, *v, max_numnodes), out.numa_cma_given = true;
    } else if (detail::parameq(p.name, "coherent_pool")) {
      if (v) out.coherent_pool = memparse(*v).value;
    } else if (detail::parameq(p.name, "memblock")) {
      if (v && *v == "debug") out.memblock_debug = true;
    }
  }
  if (!out.cma.given && !out.cma.raw.empty())
    out.notes.push_back("cma=" + out.cma.raw + " reads as 2^64-1 bytes, the kernel's \"no cma=\" "
                        "marker (size_cmdline == -1): the Kconfig size is used");
  if (out.cma.given && !out.cma.ignored_tail.empty())
    out.notes.push_back("cma=" + out.cma.raw + ": early_cma() ignores the trailing \"" +
                        out.cma.ignored_tail + "\"");
  return out;
}

/// A `cma=` value that early_cma() parses back to the same size, base and limit.
inline std::string format_cma_param(const cma_cmdline& c) {
  std::string s = format_memparse(c.given ? c.size : 0);
  if (c.base == 0 && c.limit == 0) return s;
  s += "@" + format_memparse(c.base);
  if (c.limit != c.base + c.size) s += "-" + format_memparse(c.limit);
  return s;
}

} // namespace cma
