// cma/boot/memblock.hpp — the boot-time physical memory map: memblock.memory and
// memblock.reserved, and the free-range search CMA reservations go through.
//
// Models mm/memblock.c (read in 6.1.192; the search helpers are the same in 4.15,
// 5.10, 6.6 and 6.12 per KERNEL-FACTS §6.2):
//  - memblock_add/memblock_reserve merge overlapping and adjacent ranges of the
//    same node and flags (memblock_add_range + memblock_merge_regions);
//  - memblock_phys_free/memblock_remove cut a range out;
//  - free ranges = memory regions (MEMBLOCK_NOMAP ones skipped) minus reserved,
//    filtered by node (NUMA_NO_NODE matches every node);
//  - memblock_find_in_range_node: start = max(start, PAGE_SIZE), end = max(start, end);
//    top-down: for free ranges from the highest, clamp to [start, end), skip if
//    end < size, candidate = round_down(end - size, align), take it if >= range start;
//    bottom-up: from the lowest, candidate = round_up(start, align), take it if
//    below the range end with size bytes left;
//  - memblock_alloc_range_nid: find, then reserve; with !exact_nid retry any node.
// Knowingly different: no MEMBLOCK_MIRROR/hotplug flags, no current_limit (CMA
// passes explicit limits), 4.15's "bottom-up starts above the kernel image" rule
// is not modelled (CMA never runs bottom-up there), region-array growth is free.
// Each reserved range may carry a label ("initrd", "memmap") that survives merging
// in a side list, so warnings can say what an area collides with.
//
// Invariants (is_valid): regions of each type are sorted, non-empty, do not
// overlap, and adjacent regions differ in node or flags (else they were merged).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace cma {

using phys_addr_t = std::uint64_t;

inline constexpr int numa_no_node = -1;           ///< NUMA_NO_NODE
inline constexpr unsigned memblock_nomap = 0x4;   ///< MEMBLOCK_NOMAP
inline constexpr phys_addr_t sz_1m = phys_addr_t{1} << 20;
inline constexpr phys_addr_t sz_2m = phys_addr_t{2} << 20;
inline constexpr phys_addr_t sz_4m = phys_addr_t{4} << 20;
inline constexpr phys_addr_t sz_1g = phys_addr_t{1} << 30;
inline constexpr phys_addr_t sz_4g = phys_addr_t{4} << 30;

struct memblock_region {
  phys_addr_t base = 0; ///< bytes
  phys_addr_t size = 0; ///< bytes, > 0
  int nid = numa_no_node;
  unsigned flags = 0;
  phys_addr_t end() const noexcept { return base + size; }
  friend bool operator==(const memblock_region&, const memblock_region&) = default;
};

/// A named reservation, kept for messages only (the search uses the regions).
struct memblock_label {
  phys_addr_t base = 0;
  phys_addr_t size = 0;
  std::string what;
};

struct phys_range {
  phys_addr_t start = 0; ///< inclusive
  phys_addr_t end = 0;   ///< exclusive
  int nid = numa_no_node;
  friend bool operator==(const phys_range&, const phys_range&) = default;
};

constexpr phys_addr_t round_down(phys_addr_t x, phys_addr_t align) noexcept {
  return x & ~(align - 1);
}
constexpr phys_addr_t round_up(phys_addr_t x, phys_addr_t align) noexcept {
  return (x + align - 1) & ~(align - 1);
}

namespace detail {

/// memblock_add_range + memblock_merge_regions on a sorted region list.
inline void add_range(std::vector<memblock_region>& regs, memblock_region r) {
  if (r.size == 0) return;
  std::vector<memblock_region> out;
  out.reserve(regs.size() + 1);
  phys_addr_t lo = r.base, hi = r.end();
  // The new range only fills holes; existing regions keep their node/flags.
  for (const auto& x : regs) {
    if (x.end() <= lo || x.base >= hi) continue;
    if (x.base > lo) out.push_back({lo, x.base - lo, r.nid, r.flags});
    lo = std::max(lo, x.end());
  }
  if (lo < hi) out.push_back({lo, hi - lo, r.nid, r.flags});
  out.insert(out.end(), regs.begin(), regs.end());
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.base < b.base; });
  regs.clear();
  for (const auto& x : out) {
    if (!regs.empty() && regs.back().end() == x.base && regs.back().nid == x.nid &&
        regs.back().flags == x.flags)
      regs.back().size += x.size;
    else
      regs.push_back(x);
  }
}

/// memblock_remove_range: cut [base, base+size) out of every region.
inline void remove_range(std::vector<memblock_region>& regs, phys_addr_t base, phys_addr_t size) {
  const phys_addr_t lo = base, hi = base + size;
  std::vector<memblock_region> out;
  for (const auto& x : regs) {
    if (x.end() <= lo || x.base >= hi) { out.push_back(x); continue; }
    if (x.base < lo) out.push_back({x.base, lo - x.base, x.nid, x.flags});
    if (x.end() > hi) out.push_back({hi, x.end() - hi, x.nid, x.flags});
  }
  regs = std::move(out);
}

} // namespace detail

class memblock {
public:
  bool bottom_up = false; ///< memblock.bottom_up: false in every version by default

  const std::vector<memblock_region>& memory() const noexcept { return memory_; }
  const std::vector<memblock_region>& reserved() const noexcept { return reserved_; }
  const std::vector<memblock_label>& labels() const noexcept { return labels_; }

  void add(phys_addr_t base, phys_addr_t size, int nid = 0, unsigned flags = 0) {
    detail::add_range(memory_, {base, size, nid, flags});
  }
  void remove(phys_addr_t base, phys_addr_t size) { detail::remove_range(memory_, base, size); }
  void reserve(phys_addr_t base, phys_addr_t size, std::string what = {}) {
    detail::add_range(reserved_, {base, size, numa_no_node, 0});
    if (!what.empty()) labels_.push_back({base, size, std::move(what)});
  }
  void phys_free(phys_addr_t base, phys_addr_t size) {
    detail::remove_range(reserved_, base, size);
  }

  /// memblock_start_of_DRAM / memblock_end_of_DRAM (0 when there is no memory).
  phys_addr_t start_of_dram() const noexcept { return memory_.empty() ? 0 : memory_.front().base; }
  phys_addr_t end_of_dram() const noexcept { return memory_.empty() ? 0 : memory_.back().end(); }
  /// memblock_phys_mem_size: bytes of memory, holes excluded.
  phys_addr_t phys_mem_size() const noexcept {
    phys_addr_t n = 0;
    for (const auto& r : memory_) n += r.size;
    return n;
  }
  phys_addr_t reserved_size() const noexcept {
    phys_addr_t n = 0;
    for (const auto& r : reserved_) n += r.size;
    return n;
  }

  /// memblock_is_region_reserved: does [base, base+size) overlap any reservation?
  bool is_region_reserved(phys_addr_t base, phys_addr_t size) const noexcept {
    return overlaps(reserved_, base, size);
  }
  /// Is all of [base, base+size) inside memory regions?
  bool is_region_memory(phys_addr_t base, phys_addr_t size) const noexcept {
    phys_addr_t at = base;
    for (const auto& r : memory_)
      if (r.base <= at && at < r.end()) at = r.end();
    return at >= base + size;
  }
  /// Labels of the reservations that [base, base+size) overlaps.
  std::vector<memblock_label> labels_overlapping(phys_addr_t base, phys_addr_t size) const {
    std::vector<memblock_label> out;
    for (const auto& l : labels_)
      if (base < l.base + l.size && l.base < base + size) out.push_back(l);
    return out;
  }

  /// for_each_free_mem_range(nid): memory minus reserved, ascending.
  std::vector<phys_range> free_ranges(int nid = numa_no_node) const {
    std::vector<phys_range> out;
    for (const auto& m : memory_) {
      if ((m.flags & memblock_nomap) || (nid != numa_no_node && m.nid != nid)) continue;
      phys_addr_t at = m.base;
      for (const auto& r : reserved_) {
        if (r.end() <= at || r.base >= m.end()) continue;
        if (r.base > at) out.push_back({at, r.base, m.nid});
        at = std::max(at, r.end());
      }
      if (at < m.end()) out.push_back({at, m.end(), m.nid});
    }
    return out;
  }

  /// memblock_find_in_range_node: a free, aligned address or 0.
  phys_addr_t find_in_range_node(phys_addr_t size, phys_addr_t align, phys_addr_t start,
                                 phys_addr_t end, int nid) const {
    start = std::max(start, page_bytes);
    end = std::max(start, end);
    const auto ranges = free_ranges(nid);
    return bottom_up ? find_bottom_up(ranges, start, end, size, align)
                     : find_top_down(ranges, start, end, size, align);
  }

  /// memblock_alloc_range_nid: find and reserve; 0 on failure.
  phys_addr_t alloc_range_nid(phys_addr_t size, phys_addr_t align, phys_addr_t start,
                              phys_addr_t end, int nid, bool exact_nid, std::string what = {}) {
    phys_addr_t found = find_in_range_node(size, align, start, end, nid);
    if (!found && nid != numa_no_node && !exact_nid)
      found = find_in_range_node(size, align, start, end, numa_no_node);
    if (found) reserve(found, size, std::move(what));
    return found;
  }

  bool is_valid() const noexcept { return valid(memory_) && valid(reserved_); }

private:
  static constexpr phys_addr_t page_bytes = 4096;

  static bool overlaps(const std::vector<memblock_region>& regs, phys_addr_t base,
                       phys_addr_t size) noexcept {
    for (const auto& r : regs)
      if (base < r.end() && r.base < base + size) return true;
    return false;
  }
  static phys_addr_t clamp(phys_addr_t x, phys_addr_t lo, phys_addr_t hi) noexcept {
    return std::min(std::max(x, lo), hi);
  }
  static phys_addr_t find_top_down(const std::vector<phys_range>& ranges, phys_addr_t start,
                                   phys_addr_t end, phys_addr_t size, phys_addr_t align) {
    for (auto it = ranges.rbegin(); it != ranges.rend(); ++it) {
      const phys_addr_t lo = clamp(it->start, start, end), hi = clamp(it->end, start, end);
      if (hi < size) continue;
      const phys_addr_t cand = round_down(hi - size, align);
      if (cand >= lo) return cand;
    }
    return 0;
  }
  static phys_addr_t find_bottom_up(const std::vector<phys_range>& ranges, phys_addr_t start,
                                    phys_addr_t end, phys_addr_t size, phys_addr_t align) {
    for (const auto& r : ranges) {
      const phys_addr_t lo = clamp(r.start, start, end), hi = clamp(r.end, start, end);
      const phys_addr_t cand = round_up(lo, align);
      if (cand < hi && hi - cand >= size) return cand;
    }
    return 0;
  }
  static bool valid(const std::vector<memblock_region>& regs) noexcept {
    for (std::size_t i = 0; i < regs.size(); ++i) {
      if (regs[i].size == 0) return false;
      if (i == 0) continue;
      const auto& a = regs[i - 1];
      const auto& b = regs[i];
      if (a.end() > b.base) return false;
      if (a.end() == b.base && a.nid == b.nid && a.flags == b.flags) return false;
    }
    return true;
  }

  std::vector<memblock_region> memory_;
  std::vector<memblock_region> reserved_;
  std::vector<memblock_label> labels_;
};

} // namespace cma
