// cma/formats/memblock_debug.hpp — a `memblock=debug` boot log → the memblock
// state at the moment the CMA areas are declared.
//
// Reads the lines mm/memblock.c prints with memblock=debug (6.1.192 formats;
// 4.15's `[%#016llx-%#016llx]` parses the same way):
//   memblock_add|memblock_reserve|memblock_remove|memblock_phys_free|memblock_free:
//       [0x<start>-0x<end inclusive>] <caller>
//   MEMBLOCK configuration:              (memblock_dump_all)
//    memory[0x0]\t[0x…-0x…], 0x… bytes on node 0 flags: 0x0
//    reserved[0x0]\t[0x…-0x…], 0x… bytes flags: 0x0
// Timestamps ("[    0.000000] ") and syslog prefixes are skipped.
//
// Which moment: the state wanted is the one just before dma_contiguous_reserve().
//  - A dump printed after it (arm64 6.1 prints memblock_dump_all at the end of
//    bootmem_init, right after the CMA reservation) is recognised by an earlier
//    "Initmem setup node" line (zone_sizes_init runs just before the CMA code)
//    or an earlier CMA line; the reserve/free events logged between that point
//    and the dump are undone, so an area the log reserved does not count against
//    itself even when the "cma: Reserved" answer line was removed from the input.
//  - A dump printed earlier (x86 prints one from e820__memblock_setup) is the
//    starting state, and the events after it are replayed up to the first CMA line.
//  - A description file is just the dump's entry lines without the header:
//        memory[0]  [0x40000000-0x7fffffff]  (optionally "… on node 1")
//        reserved[0] [0x48000000-0x480f3fff]
//  - Without a dump, events are replayed from the start; early lines are often
//    lost from a 128 KiB early log buffer, so a log without memblock_add lines
//    and without a dump is rejected.
// Replay stops at "Kernel command line:" (printed by start_kernel after setup_arch,
// i.e. after every CMA declaration), at a CMA line, or at a second dump.
// CMA lines: "cma: …", "Reserved memory: created CMA …", and memblock events whose
// caller names cma_* or dma_contiguous_*; a reserve event immediately before a
// "cma: Reserved" line is CMA's own (memblock_alloc_range_nid reports itself as
// the caller).
// Knowingly different: memory region flags other than NOMAP and reserved-region
// node ids are dropped; labels are not available from a log.
//
// API: cma::formats::memblock_debug::parse(text) (helpers in detail_).
// Invariant: parse never throws on any text; a result has at least one memory region.
#pragma once

#include "../boot/memblock.hpp"
#include "../boot/memparse.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cma::formats::memblock_debug {

struct memblock_log {
  memblock mb;
  std::vector<std::string> notes;          ///< how the state was derived
  std::optional<std::string> kernel_cmdline; ///< "Kernel command line: …" if present
};

struct memblock_log_error {
  std::string message;
};

struct memblock_log_result {
  std::optional<memblock_log> log;
  memblock_log_error error;
  explicit operator bool() const noexcept { return log.has_value(); }
};

namespace detail_ {

enum class mb_line_kind { other, add, reserve, free_, remove, dump_begin, dump_memory, dump_reserved,
                          anchor, cma_marker, cma_reserved_line, cmdline };

struct mb_line {
  mb_line_kind kind = mb_line_kind::other;
  phys_addr_t start = 0, end = 0; ///< end exclusive
  int nid = 0;
  unsigned flags = 0;
  bool cma_caller = false;
  std::string text; ///< cmdline text
};

inline std::optional<std::pair<std::uint64_t, std::size_t>> parse_hex(std::string_view s, std::size_t i) {
  if (i + 1 < s.size() && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) i += 2;
  std::uint64_t v = 0;
  const std::size_t from = i;
  for (; i < s.size(); ++i) {
    const unsigned d = cma::detail::digit_value(s[i]);
    if (d > 15) break;
    v = (v << 4) | d;
  }
  if (i == from || i - from > 16) return std::nullopt;
  return std::pair{v, i};
}

/// "[0xA-0xB]" at i → [A, B+1).
inline std::optional<std::pair<phys_range, std::size_t>> parse_bracket_range(std::string_view s,
                                                                            std::size_t i) {
  if (i >= s.size() || s[i] != '[') return std::nullopt;
  const auto a = parse_hex(s, i + 1);
  if (!a || a->second >= s.size() || s[a->second] != '-') return std::nullopt;
  const auto b = parse_hex(s, a->second + 1);
  if (!b || b->second >= s.size() || s[b->second] != ']' || b->first < a->first ||
      b->first == ~std::uint64_t{0})
    return std::nullopt;
  return std::pair{phys_range{a->first, b->first + 1}, b->second + 1};
}

/// The line without a "[ 0.000000] " timestamp or "<6>" level prefix.
inline std::string_view strip_prefix(std::string_view l) {
  if (!l.empty() && l.front() == '<') {
    const auto gt = l.find('>');
    if (gt != std::string_view::npos && gt < 5) l.remove_prefix(gt + 1);
  }
  if (!l.empty() && l.front() == '[') {
    const auto rb = l.find(']');
    if (rb != std::string_view::npos) {
      l.remove_prefix(rb + 1);
      if (!l.empty() && l.front() == ' ') l.remove_prefix(1);
    }
  }
  return l;
}

inline bool names_cma(std::string_view caller) {
  return caller.find("cma_") != std::string_view::npos ||
         caller.find("dma_contiguous") != std::string_view::npos;
}

inline mb_line classify_event(std::string_view l, mb_line_kind kind, std::size_t at) {
  mb_line out;
  const auto r = parse_bracket_range(l, at);
  if (!r) return out;
  out.kind = kind;
  out.start = r->first.start;
  out.end = r->first.end;
  out.cma_caller = names_cma(l.substr(r->second));
  return out;
}

/// " memory[0x0]\t[a-b], size bytes on node N flags: 0xF" and the reserved form.
inline mb_line classify_dump_entry(std::string_view l, mb_line_kind kind) {
  mb_line out;
  // The range is the second bracket: after "memory[0x0]" come a tab or spaces.
  const auto first = l.find(']');
  if (first == std::string_view::npos) return out;
  std::size_t open = first + 1;
  while (open < l.size() && (l[open] == '\t' || l[open] == ' ')) ++open;
  const auto r = parse_bracket_range(l, open);
  if (!r) return out;
  out.kind = kind;
  out.start = r->first.start;
  out.end = r->first.end;
  if (const auto node = l.find("on node ", r->second); node != std::string_view::npos) {
    // A node number has a few digits; a longer run is not one (and would overflow an
    // int: the fuzzer's find), so the node stays unknown (0).
    int n = 0;
    std::size_t i = node + 8;
    for (; i < l.size() && l[i] >= '0' && l[i] <= '9' && i < node + 8 + 6; ++i) n = n * 10 + (l[i] - '0');
    if (i == l.size() || l[i] < '0' || l[i] > '9') out.nid = n;
  }
  if (const auto f = l.find("flags: ", r->second); f != std::string_view::npos)
    if (const auto v = parse_hex(l, f + 7)) out.flags = static_cast<unsigned>(v->first);
  return out;
}

inline mb_line classify(std::string_view raw) {
  const std::string_view l = strip_prefix(raw);
  static constexpr std::pair<std::string_view, mb_line_kind> events[] = {
      {"memblock_add: ", mb_line_kind::add},
      {"memblock_reserve: ", mb_line_kind::reserve},
      {"memblock_remove: ", mb_line_kind::remove},
      {"memblock_phys_free: ", mb_line_kind::free_},
      {"memblock_free: ", mb_line_kind::free_},
  };
  for (const auto& [prefix, kind] : events)
    if (l.substr(0, prefix.size()) == prefix) return classify_event(l, kind, prefix.size());
  mb_line out;
  std::string_view t = l;
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  if (t.substr(0, 7) == "memory[") return classify_dump_entry(t, mb_line_kind::dump_memory);
  if (t.substr(0, 9) == "reserved[") return classify_dump_entry(t, mb_line_kind::dump_reserved);
  if (l.substr(0, 23) == "MEMBLOCK configuration:") out.kind = mb_line_kind::dump_begin;
  else if (l.find("Initmem setup node") != std::string_view::npos) out.kind = mb_line_kind::anchor;
  else if (l.substr(0, 14) == "cma: Reserved ") out.kind = mb_line_kind::cma_reserved_line;
  else if (l.substr(0, 5) == "cma: " ||
           l.find("Reserved memory: created CMA") != std::string_view::npos)
    out.kind = mb_line_kind::cma_marker;
  else if (l.substr(0, 21) == "Kernel command line: ") {
    out.kind = mb_line_kind::cmdline;
    out.text = std::string(l.substr(21));
    while (!out.text.empty() && (out.text.back() == '\r' || out.text.back() == ' '))
      out.text.pop_back();
  }
  return out;
}

inline bool is_event(const mb_line& x) {
  return x.kind == mb_line_kind::add || x.kind == mb_line_kind::reserve ||
         x.kind == mb_line_kind::free_ || x.kind == mb_line_kind::remove;
}

inline bool is_cma_line(const mb_line& x) {
  return x.kind == mb_line_kind::cma_marker || x.kind == mb_line_kind::cma_reserved_line ||
         (is_event(x) && x.cma_caller);
}

inline void apply(memblock& mb, const mb_line& e) {
  const phys_addr_t size = e.end - e.start;
  switch (e.kind) {
  case mb_line_kind::add: mb.add(e.start, size, 0); break;
  case mb_line_kind::remove: mb.remove(e.start, size); break;
  case mb_line_kind::reserve: mb.reserve(e.start, size); break;
  case mb_line_kind::free_: mb.phys_free(e.start, size); break;
  default: break;
  }
}

/// Undo a reserve (free it) or a free (reserve it again).
inline void undo(memblock& mb, const mb_line& e) {
  const phys_addr_t size = e.end - e.start;
  if (e.kind == mb_line_kind::reserve) mb.phys_free(e.start, size);
  if (e.kind == mb_line_kind::free_) mb.reserve(e.start, size);
}

inline std::vector<mb_line> classify_all(std::string_view text) {
  std::vector<mb_line> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    out.push_back(classify(line));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

/// The first dump: [begin, end) line indexes of its header and entries.
inline std::optional<std::pair<std::size_t, std::size_t>> find_dump(const std::vector<mb_line>& ls) {
  for (std::size_t i = 0; i < ls.size(); ++i) {
    if (ls[i].kind != mb_line_kind::dump_begin) continue;
    std::size_t j = i + 1;
    std::size_t last = i;
    for (; j < ls.size() && j < last + 4; ++j)
      if (ls[j].kind == mb_line_kind::dump_memory || ls[j].kind == mb_line_kind::dump_reserved)
        last = j;
    return std::pair{i, last + 1};
  }
  return std::nullopt;
}

inline memblock state_from_dump(const std::vector<mb_line>& ls, std::size_t b, std::size_t e) {
  memblock mb;
  for (std::size_t i = b; i < e; ++i) {
    const phys_addr_t size = ls[i].end - ls[i].start;
    if (ls[i].kind == mb_line_kind::dump_memory) mb.add(ls[i].start, size, ls[i].nid, ls[i].flags);
    if (ls[i].kind == mb_line_kind::dump_reserved) mb.reserve(ls[i].start, size);
  }
  return mb;
}

/// Replay events in [from, ls.size()) until a stop line; returns the stop index.
inline std::size_t replay(memblock& mb, const std::vector<mb_line>& ls, std::size_t from) {
  for (std::size_t i = from; i < ls.size(); ++i) {
    const mb_line& x = ls[i];
    if (x.kind == mb_line_kind::cmdline || x.kind == mb_line_kind::dump_begin) return i;
    if (is_cma_line(x)) {
      // memblock_alloc_range_nid names itself as the caller of CMA's reserve.
      if (x.kind == mb_line_kind::cma_reserved_line && i > from &&
          ls[i - 1].kind == mb_line_kind::reserve)
        undo(mb, ls[i - 1]);
      return i;
    }
    apply(mb, x);
  }
  return ls.size();
}

} // namespace detail_

/// The memblock state before dma_contiguous_reserve(), from a memblock=debug log.
inline memblock_log_result parse(std::string_view text) {
  using namespace detail_;
  const std::vector<mb_line> ls = classify_all(text);
  memblock_log_result res;
  memblock_log out;
  for (const auto& x : ls)
    if (x.kind == mb_line_kind::cmdline && !out.kernel_cmdline) out.kernel_cmdline = x.text;
  const auto dump = find_dump(ls);
  if (dump) {
    std::size_t mark = ls.size(); // the last anchor, or the first CMA line, before the dump
    for (std::size_t i = 0; i < dump->first; ++i) {
      if (ls[i].kind == mb_line_kind::anchor) mark = i;
      if (!is_cma_line(ls[i])) continue;
      std::size_t m = i;
      if (ls[i].kind == mb_line_kind::cma_reserved_line && i > 0 && ls[i - 1].kind == mb_line_kind::reserve)
        m = i - 1;
      mark = std::min(mark, m);
      break;
    }
    out.mb = state_from_dump(ls, dump->first, dump->second);
    if (mark != ls.size()) {
      std::size_t undone = 0;
      for (std::size_t i = mark; i < dump->first; ++i)
        if (ls[i].kind == mb_line_kind::reserve || ls[i].kind == mb_line_kind::free_) {
          undo(out.mb, ls[i]);
          ++undone;
        }
      out.notes.push_back("memblock state: the MEMBLOCK configuration dump (log line " +
                          std::to_string(dump->first + 1) +
                          "), printed after the CMA declarations; " + std::to_string(undone) +
                          " later reserve/free events undone");
    } else {
      const std::size_t stop = replay(out.mb, ls, dump->second);
      out.notes.push_back("memblock state: the MEMBLOCK configuration dump (log line " +
                          std::to_string(dump->first + 1) + ") plus the events up to line " +
                          std::to_string(stop));
    }
  } else if (std::any_of(ls.begin(), ls.end(), [](const mb_line& x) {
               return x.kind == mb_line_kind::dump_memory;
             }) && std::none_of(ls.begin(), ls.end(), is_event)) {
    out.mb = state_from_dump(ls, 0, ls.size());
    out.notes.push_back("memblock state: a description (memory[…]/reserved[…] lines, no dump header)");
  } else {
    const std::size_t stop = replay(out.mb, ls, 0);
    out.notes.push_back("memblock state: replay of memblock_add/reserve/free events up to line " +
                        std::to_string(stop));
  }
  if (out.mb.memory().empty()) {
    res.error.message = "no memory regions in the log (neither a MEMBLOCK configuration dump nor "
                        "memblock_add lines; was memblock=debug on, and the early log complete?)";
    return res;
  }
  res.log = std::move(out);
  return res;
}

} // namespace cma::formats::memblock_debug
