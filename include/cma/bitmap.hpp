// cma/bitmap.hpp — a plain bit vector with the kernel's bitmap primitives.
//
// Mirrors lib/find_bit.c / include/linux/find.h (find_next_bit,
// find_next_zero_bit: both return `size` when nothing is found) and
// lib/bitmap.c (bitmap_set, bitmap_clear, bitmap_find_next_zero_area_off).
// This is the storage of the *reference* implementation: obviously correct,
// one bit per bitmap_no, 64 bits per word, bit i in word i/64 at position
// i%64 (the kernel's little-endian unsigned long layout).
//
// Invariant: bits at positions >= size() are always zero.
#pragma once

#include "types.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace cma {

class bitmap {
public:
  using word = std::uint64_t;
  static constexpr unsigned word_bits = 64;

  bitmap() = default;
  explicit bitmap(bitmap_no_t nbits) : size_(nbits), words_((nbits + word_bits - 1) / word_bits) {}

  bitmap_no_t size() const noexcept { return size_; }
  const std::vector<word>& words() const noexcept { return words_; }

  bool test(bitmap_no_t i) const noexcept {
    assert(i < size_);
    return (words_[i / word_bits] >> (i % word_bits)) & 1u;
  }

  /// lib/bitmap.c: bitmap_set(map, start, nr) — bits past size() are not touched.
  void set(bitmap_no_t start, bitmap_no_t nr) noexcept { assign(start, nr, true); }
  /// lib/bitmap.c: bitmap_clear(map, start, nr).
  void clear(bitmap_no_t start, bitmap_no_t nr) noexcept { assign(start, nr, false); }

  /// include/linux/find.h: first set bit in [start, size), or size.
  bitmap_no_t find_next_bit(bitmap_no_t size, bitmap_no_t start) const noexcept {
    return find_next(size, start, word{0});
  }
  /// include/linux/find.h: first zero bit in [start, size), or size.
  bitmap_no_t find_next_zero_bit(bitmap_no_t size, bitmap_no_t start) const noexcept {
    return find_next(size, start, ~word{0});
  }

  /// Number of set bits in [start, start+nr), clamped to size() (never wrapped).
  bitmap_no_t weight(bitmap_no_t start, bitmap_no_t nr) const noexcept {
    bitmap_no_t end = nr > size_ - std::min(start, size_) ? size_ : start + nr, n = 0;
    for (bitmap_no_t i = start; i < end;) {
      const std::size_t wi = i / word_bits;
      const unsigned lo = i % word_bits;
      const bitmap_no_t span = std::min<bitmap_no_t>(word_bits - lo, end - i);
      const word m = (span == word_bits ? ~word{0} : ((word{1} << span) - 1)) << lo;
      n += static_cast<bitmap_no_t>(std::popcount(words_[wi] & m));
      i += span;
    }
    return n;
  }

  /// Number of set bits in [0, size()).
  bitmap_no_t weight() const noexcept {
    bitmap_no_t n = 0;
    for (word w : words_) n += static_cast<bitmap_no_t>(std::popcount(w));
    return n;
  }

  /// lib/bitmap.c: bitmap_find_next_zero_area_off(), step for step.  Returns
  /// the first index >= start where `nr` zero bits begin at a position whose
  /// (index + align_offset) is a multiple of (align_mask + 1); any value
  /// > size - nr (possibly > size) means "not found".  `nr` is `unsigned int`
  /// in the kernel (all versions 4.15 – 7.0), so it is truncated to 32 bits.
  bitmap_no_t find_next_zero_area_off(bitmap_no_t size, bitmap_no_t start, std::uint64_t nr64,
                                      bitmap_no_t align_mask, bitmap_no_t align_offset) const noexcept {
    const auto nr = static_cast<std::uint32_t>(nr64);
    for (;;) {
      bitmap_no_t index = find_next_zero_bit(size, start);
      // Round up so that index + align_offset is aligned (lib/bitmap.c __ALIGN_MASK).
      index = ((index + align_offset + align_mask) & ~align_mask) - align_offset;
      const bitmap_no_t end = index + nr;
      if (end > size) return end;
      const bitmap_no_t i = find_next_bit(end, index);
      if (i < end) {
        start = i + 1; // resume after the collision, not at the next aligned slot
        continue;
      }
      return index;
    }
  }

  /// Calls f(start, len) for every maximal run of zero bits, lowest first (the walk
  /// cma_debug_show_areas and debugfs maxchunk make).
  template <class F> void for_each_zero_run(F&& f) const {
    for (bitmap_no_t z = find_next_zero_bit(size_, 0); z < size_;) {
      const bitmap_no_t s = find_next_bit(size_, z);
      f(z, s - z);
      z = find_next_zero_bit(size_, s);
    }
  }
  bitmap_no_t longest_zero_run() const {
    bitmap_no_t best = 0;
    for_each_zero_run([&](bitmap_no_t, bitmap_no_t len) { best = len > best ? len : best; });
    return best;
  }

  friend bool operator==(const bitmap&, const bitmap&) = default;

private:
  // Scans words XOR-ed with `invert` for the first set bit, as FIND_NEXT_BIT does.
  bitmap_no_t find_next(bitmap_no_t size, bitmap_no_t start, word invert) const noexcept {
    if (size > size_) size = size_;
    if (start >= size) return size;
    std::size_t wi = start / word_bits;
    word w = (words_[wi] ^ invert) & (~word{0} << (start % word_bits));
    for (;;) {
      if (w != 0) {
        const bitmap_no_t found = wi * word_bits + static_cast<unsigned>(std::countr_zero(w));
        return found < size ? found : size;
      }
      if (++wi * word_bits >= size) return size;
      w = words_[wi] ^ invert;
    }
  }

  // [start, start + nr) clamped to size(); a range whose end would pass 2^64 (a release
  // of count 2^64 - 1) is clamped too, never wrapped — the same answer free_run_index's
  // clamp_end gives, so the two stores agree on every input.
  void assign(bitmap_no_t start, bitmap_no_t nr, bool value) noexcept {
    const bitmap_no_t end = nr > size_ - std::min(start, size_) ? size_ : start + nr;
    for (bitmap_no_t i = start; i < end;) {
      const std::size_t wi = i / word_bits;
      const unsigned lo = i % word_bits;
      const bitmap_no_t span = std::min<bitmap_no_t>(word_bits - lo, end - i);
      const word m = (span == word_bits ? ~word{0} : ((word{1} << span) - 1)) << lo;
      words_[wi] = value ? (words_[wi] | m) : (words_[wi] & ~m);
      i += span;
    }
  }

  bitmap_no_t size_ = 0;
  std::vector<word> words_;
};

} // namespace cma
