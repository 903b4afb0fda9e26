// cma/device/debugfs_u32_array.hpp — fs/debugfs/file.c u32_array_open() / u32_format_array(),
// the handler of debugfs_create_u32_array (a CMA area's `bitmap`), same in 4.15 and 6.x.
//
// At open() the kernel snapshots the array into a buffer of n * 11 bytes (10 digits and a
// separator per u32) plus a NUL, and formats each element "%u" followed by ' ', or '\n'
// after the last, with snprintf bounded by the bytes left of n * 11.  The last element's
// snprintf needs its digits, the '\n' and the NUL: when every element has 10 digits
// (each u32 >= 1000000000, e.g. a fully allocated area whose bit count is a multiple of
// 32: every word 4294967295) the text would be exactly n * 11 bytes, so the last
// snprintf has room for 10 characters and the NUL: the final '\n' is cut off.
// n == 0 reads as "".  Reads return that snapshot: a read after a later alloc/free on
// the same open file still shows the old text.
//
// The words themselves are cma_debug.hpp's debugfs_bitmap(); this header applies the
// buffer bound to its text.
#pragma once

#include "../cma_debug.hpp"

#include <cstddef>
#include <string>

namespace cma::device {

/// DIV_ROUND_UP(maxno, 32): the u32 elements mm/cma_debug.c registers for a range.
inline std::size_t u32_array_elements(bitmap_no_t maxno) noexcept { return static_cast<std::size_t>((maxno + 31) / 32); }

/// The bytes `cat bitmap` reads for range r: debugfs_bitmap's words inside the n * 11 buffer.
template <class Area> std::string debugfs_u32_array_text(const Area& area, unsigned r = 0) {
  const std::size_t n = u32_array_elements(area.ranges().at(r).bitmap_maxno());
  if (n == 0) return {};
  std::string text = debugfs_bitmap(area, r); // "%u %u … %u\n"
  // snprintf(buf, left, "%u\n") of the last word needs its text and a NUL in `left`
  // bytes: it falls one short exactly when the whole text is n * 11 bytes long.
  if (text.size() >= n * 11) text.resize(n * 11 - 1);
  return text;
}

} // namespace cma::device
