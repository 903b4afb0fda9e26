// cma/bitmap_store.hpp — the two ways cmasim stores a memrange's bitmap.
//
// The allocator core (cma_area.hpp) is written once against the concept below;
// it is instantiated with
//   * bit_vector_store — the reference: a plain cma::bitmap searched exactly as
//     lib/bitmap.c searches it (obviously correct, O(maxno) worst case);
//   * free_run_index    — the bitmap plus an index of its free runs, in blocks that know
//     how long an aligned window each offers (free_run_index.hpp).
// Both must answer every query identically; tests/test_properties.cpp runs them
// op for op.  In particular set(start, nr) / clear(start, nr) act on
// [start, min(start + nr, size())) with the sum taken without wrapping: a range that
// passes the end, or 2^64 (a release of count 2^64 - 1), is clamped at size() by both.
// find_next_zero_area_off's mask and offset are what basic_area passes (mask at most
// 2^63 - 1, offset below 2^40, see order_per_bit.hpp), so the kernel's round-up
// (index + offset + mask) cannot wrap either.
#pragma once

#include "bitmap.hpp"
#include "free_run_index.hpp"
#include "types.hpp"

#include <concepts>
#include <cstdint>
#include <utility>

namespace cma {

template <class S>
concept bitmap_store = requires(S s, const S cs, bitmap_no_t i) {
  { S(i) };
  { cs.size() } -> std::same_as<bitmap_no_t>;
  { cs.test(i) } -> std::same_as<bool>;
  { cs.weight() } -> std::same_as<bitmap_no_t>;
  { cs.used_bits(i, i) } -> std::same_as<bitmap_no_t>;
  { cs.longest_run() } -> std::same_as<bitmap_no_t>;
  { cs.find_next_zero_area_off(i, std::uint64_t{1}, i, i) } -> std::same_as<bitmap_no_t>;
  { s.set(i, i) };
  { s.clear(i, i) };
  { cs.is_valid() } -> std::same_as<bool>;
};

/// The reference store: cma::bitmap plus the kernel's own search.
class bit_vector_store {
public:
  bit_vector_store() = default;
  explicit bit_vector_store(bitmap_no_t nbits) : map_(nbits) {}

  bitmap_no_t size() const noexcept { return map_.size(); }
  bool test(bitmap_no_t i) const noexcept { return map_.test(i); }
  bitmap_no_t weight() const noexcept { return map_.weight(); }
  bitmap_no_t used_bits(bitmap_no_t start, bitmap_no_t nr) const noexcept { return map_.weight(start, nr); }
  const cma::bitmap& bits() const noexcept { return map_; }
  std::size_t memory_bytes() const noexcept { return map_.words().capacity() * sizeof(cma::bitmap::word); }

  /// lib/bitmap.c's answer; anything >= size() means "not found".
  bitmap_no_t find_next_zero_area_off(bitmap_no_t start, std::uint64_t nr, bitmap_no_t mask,
                                      bitmap_no_t offset) const noexcept {
    return map_.find_next_zero_area_off(map_.size(), start, nr, mask, offset);
  }
  void set(bitmap_no_t start, bitmap_no_t nr) noexcept { map_.set(start, nr); }
  void clear(bitmap_no_t start, bitmap_no_t nr) noexcept { map_.clear(start, nr); }

  template <class F> void for_each_free_run(F&& f) const { map_.for_each_zero_run(std::forward<F>(f)); }
  bitmap_no_t longest_run() const { return map_.longest_zero_run(); }
  bool is_valid() const noexcept { // bits beyond size() stay zero
    const auto& w = map_.words();
    const unsigned tail = static_cast<unsigned>(map_.size() % cma::bitmap::word_bits);
    return w.empty() || tail == 0 || (w.back() >> tail) == 0;
  }

private:
  cma::bitmap map_;
};

static_assert(bitmap_store<bit_vector_store>);
static_assert(bitmap_store<free_run_index>);

} // namespace cma
