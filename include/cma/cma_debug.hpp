// cma/cma_debug.hpp — what /sys/kernel/debug/cma/<area>/ shows (mm/cma_debug.c).
//
//   used      ≤6.14: set bits << order_per_bit; 6.15+: count - available_count
//             (unsigned, so it wraps like the kernel's after a double release)
//   maxchunk  longest zero run in bits << order_per_bit (6.15+: over all ranges)
//   bitmap    u32 words of range 0, "%u" each, space separated (fs/debugfs/file.c
//             u32_format_array), bit i = bit i%32 of word i/32 on little endian
//   name      4.15 – 5.15: directory "cma-%s" truncated to 15 characters; 6.1+: the name
// Knowingly different: 4.15's maxchunk never terminates with order_per_bit > 0;
// the model returns the 5.10 answer.
#pragma once

#include "cma_area.hpp"

#include <cstdint>
#include <string>

namespace cma {

template <class Area> page_count debugfs_used(const Area& area) {
  if (area.prof().used == used_semantics::available_count) return area.count() - area.available_count();
  return area.used_bits_pages();
}

template <class Area> page_count debugfs_maxchunk(const Area& area) { return area.maxchunk(); }

/// The text `cat bitmap` prints for range r.
template <class Area> std::string debugfs_bitmap(const Area& area, unsigned r = 0) {
  const auto& rg = area.ranges().at(r);
  const bitmap_no_t maxno = rg.bitmap_maxno();
  std::string out;
  for (bitmap_no_t w = 0; w * 32 < maxno; ++w) {
    std::uint32_t word = 0;
    for (unsigned b = 0; b < 32 && w * 32 + b < maxno; ++b)
      if (rg.bitmap.test(w * 32 + b)) word |= std::uint32_t{1} << b;
    if (!out.empty()) out += ' ';
    out += std::to_string(word);
  }
  return out + "\n";
}

/// The debugfs directory name of an area.
inline std::string debugfs_dir(const std::string& name, const profile& p) {
  if (p.version < kernel_version{6, 1, 0}) return ("cma-" + name).substr(0, 15);
  return name;
}

} // namespace cma
