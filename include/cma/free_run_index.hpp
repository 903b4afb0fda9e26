// cma/free_run_index.hpp — the fast store: the bitmap plus an index of its free runs.
//
// Keeps the plain bitmap (1 bit per bitmap_no, so every answer is exact) and, over
// leaves of 4096 bits, a segment tree that knows for each subtree its longest free
// run and the free runs touching its two ends.  That answers the question the
// kernel's search keeps asking — "where is the first place at or after `start` with
// nr free bits?" — in O(log leaves) instead of walking every too-small hole, which
// is where lib/bitmap.c spends its time on a fragmented area.
//
// Why the result is the kernel's: bitmap_find_next_zero_area_off() returns the
// lowest aligned index >= start whose window is free (it resumes after a collision
// at the colliding bit + 1, which never jumps over an aligned fit).  The descent
// below visits the maximal free runs at or after `start` in address order, skipping
// subtrees whose longest run is < nr, and returns the lowest aligned window of the
// first run that has one: the same index.
// tests/test_free_run_index.cpp checks it against the plain bitmap op for op, with
// tiny leaves so the tree is exercised.
//
// Memory: the bitmap (1 bit/page at order_per_bit 0) plus 12 bytes per tree node,
// 2 nodes per 2048-bit leaf when the leaf count is a power of two (0.094 bit per
// bitmap bit more), up to 4 otherwise.  Areas of <= 8 leaves (16 MiB at
// order_per_bit 0) keep no tree and search like the reference.
//
// Knowingly left out: pruning by alignment.  A run long enough may hold no aligned
// window (dma-direct aligns a 33-page request to 64 pages), so the search still
// visits such runs; per-alignment-class bounds were tried and cost more to keep up
// to date than they saved.
//
// Invariants (is_valid): every node's summary equals the one recomputed from the
// bitmap; the cached weight equals the bitmap's.
#pragma once

#include "bitmap.hpp"
#include "types.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <utility>
#include <vector>

namespace cma {

class free_run_index {
public:
  free_run_index() = default;
  /// Leaves of `leaf_words` words; no tree below `min_tree_leaves` leaves.
  explicit free_run_index(bitmap_no_t nbits, unsigned leaf_words = 32, std::size_t min_tree_leaves = 9)
      : map_(nbits), leaf_bits_(bitmap_no_t{leaf_words} * bitmap::word_bits) {
    nleaves_ = static_cast<std::size_t>((nbits + leaf_bits_ - 1) / leaf_bits_);
    if (nleaves_ >= min_tree_leaves) {
      leaves_pow2_ = std::bit_ceil(nleaves_);
      tree_.assign(2 * leaves_pow2_, summary{});
      for (std::size_t l = 0; l < nleaves_; ++l) tree_[leaves_pow2_ + l] = leaf_summary(l);
      for (std::size_t i = leaves_pow2_ - 1; i >= 1; --i) pull(i);
    }
  }

  bitmap_no_t size() const noexcept { return map_.size(); }
  bool test(bitmap_no_t i) const noexcept { return map_.test(i); }
  bitmap_no_t weight() const noexcept { return tree_.empty() ? map_.weight() : weight_; }
  bitmap_no_t used_bits(bitmap_no_t start, bitmap_no_t nr) const noexcept { return map_.weight(start, nr); }
  const cma::bitmap& bits() const noexcept { return map_; }
  bool has_tree() const noexcept { return !tree_.empty(); }

  bitmap_no_t find_next_zero_area_off(bitmap_no_t start, std::uint64_t nr64, bitmap_no_t mask,
                                      bitmap_no_t offset) const noexcept {
    const bitmap_no_t nr = static_cast<std::uint32_t>(nr64);
    if (tree_.empty() || nr == 0) return map_.find_next_zero_area_off(map_.size(), start, nr64, mask, offset);
    const query q{start, nr, mask, offset};
    bitmap_no_t carry = 0;
    const bitmap_no_t idx = descend(1, 0, static_cast<bitmap_no_t>(leaves_pow2_) * leaf_bits_, q, carry);
    // The last run ends at the end of the bitmap: complete, though no node saw its end.
    return idx != map_.size() || carry == 0 ? idx : fit(q, map_.size() - carry, map_.size());
  }

  // Without a tree (small areas) nothing is cached: the store is the reference's bitmap.
  void set(bitmap_no_t start, bitmap_no_t nr) noexcept {
    if (tree_.empty()) return map_.set(start, nr);
    const bitmap_no_t before = map_.weight(start, nr);
    map_.set(start, nr);
    weight_ += map_.weight(start, nr) - before;
    refresh(start, nr);
  }
  void clear(bitmap_no_t start, bitmap_no_t nr) noexcept {
    if (tree_.empty()) return map_.clear(start, nr);
    weight_ -= map_.weight(start, nr);
    map_.clear(start, nr);
    refresh(start, nr);
  }

  template <class F> void for_each_free_run(F&& f) const { map_.for_each_zero_run(std::forward<F>(f)); }
  bitmap_no_t longest_run() const {
    if (!tree_.empty()) return std::max({tree_[1].pre, tree_[1].suf, tree_[1].inner});
    return map_.longest_zero_run();
  }

  std::size_t memory_bytes() const noexcept {
    return map_.words().capacity() * sizeof(bitmap::word) + tree_.capacity() * sizeof(summary);
  }

  bool is_valid() const {
    if (tree_.empty()) return true;
    if (weight_ != map_.weight()) return false;
    for (std::size_t l = 0; l < leaves_pow2_; ++l)
      if (!(tree_[leaves_pow2_ + l] == (l < nleaves_ ? leaf_summary(l) : summary{}))) return false;
    for (std::size_t i = 1; i < leaves_pow2_; ++i)
      if (!(tree_[i] == combine(i))) return false;
    return true;
  }

private:
  struct summary {
    std::uint32_t pre = 0;  ///< free bits at the low end
    std::uint32_t suf = 0;  ///< free bits at the high end
    std::uint32_t inner = 0; ///< longest free run touching neither end
    friend bool operator==(const summary&, const summary&) = default;
  };

  // bit range [lo, hi) that tree node i covers (heap layout, leaves at leaves_pow2_ ..)
  std::pair<bitmap_no_t, bitmap_no_t> span(std::size_t i) const noexcept {
    const unsigned level = static_cast<unsigned>(std::bit_width(i) - 1);
    const std::size_t leaves = leaves_pow2_ >> level;
    const bitmap_no_t lo = static_cast<bitmap_no_t>((i - (std::size_t{1} << level)) * leaves) * leaf_bits_;
    const bitmap_no_t hi = lo + static_cast<bitmap_no_t>(leaves) * leaf_bits_;
    return {std::min(lo, map_.size()), std::min(hi, map_.size())};
  }

  summary combine(std::size_t i) const noexcept {
    const summary& l = tree_[2 * i];
    const summary& r = tree_[2 * i + 1];
    const auto [llo, lhi] = span(2 * i);
    const auto [rlo, rhi] = span(2 * i + 1);
    const auto llen = static_cast<std::uint32_t>(lhi - llo), rlen = static_cast<std::uint32_t>(rhi - rlo);
    summary s;
    s.pre = l.pre == llen ? llen + r.pre : l.pre;
    s.suf = r.suf == rlen ? rlen + l.suf : r.suf;
    // The runs meeting at the middle form one run; it is inside the parent unless a
    // fully free child makes it the parent's first or last run.
    const std::uint32_t middle = (l.pre == llen || r.suf == rlen) ? 0 : l.suf + r.pre;
    s.inner = std::max({l.inner, r.inner, middle});
    return s;
  }
  void pull(std::size_t i) noexcept { tree_[i] = combine(i); }

  // Word by word: runs of zero words extend the current run; a mixed word ends it
  // with its trailing zeros, may hold a longer run inside, and starts one with its
  // leading zeros.  Bits past size() count as used.
  summary leaf_summary(std::size_t leaf) const noexcept {
    const bitmap_no_t lo = static_cast<bitmap_no_t>(leaf) * leaf_bits_;
    const bitmap_no_t hi = std::min(lo + leaf_bits_, map_.size());
    summary s;
    bool at_start = true;
    std::uint64_t run = 0, inner = 0;
    const auto& w = map_.words();
    for (bitmap_no_t b = lo; b < hi; b += bitmap::word_bits) {
      bitmap::word x = w[b / bitmap::word_bits];
      const bitmap_no_t valid = std::min<bitmap_no_t>(bitmap::word_bits, hi - b);
      if (valid < bitmap::word_bits) x |= ~bitmap::word{0} << valid; // past size(): used
      if (x == 0) {
        run += bitmap::word_bits;
        continue;
      }
      run += static_cast<unsigned>(std::countr_zero(x));
      if (at_start) s.pre = static_cast<std::uint32_t>(run), at_start = false;
      else inner = std::max(inner, run);
      if (inner < bitmap::word_bits - 2) inner = std::max<std::uint64_t>(inner, longest_inner_zero_run(x)); // inner runs are <= 62
      run = static_cast<unsigned>(std::countl_zero(x));
    }
    if (at_start) s.pre = static_cast<std::uint32_t>(run); // no used bit at all
    s.suf = static_cast<std::uint32_t>(run);
    s.inner = static_cast<std::uint32_t>(inner);
    return s;
  }
  // Longest zero run strictly between the lowest and highest set bit of x (x != 0).
  static unsigned longest_inner_zero_run(bitmap::word x) noexcept {
    const unsigned tz = static_cast<unsigned>(std::countr_zero(x));
    const unsigned lz = static_cast<unsigned>(std::countl_zero(x));
    if (tz + lz >= bitmap::word_bits - 1) return 0;
    bitmap::word z = ~x & (~bitmap::word{0} << tz) & (~bitmap::word{0} >> lz); // inner zeros as ones
    unsigned n = 0;
    while (z) z &= z >> 1, ++n;
    return n;
  }

  void refresh(bitmap_no_t start, bitmap_no_t nr) noexcept {
    if (tree_.empty() || start >= map_.size() || nr == 0) return;
    const bitmap_no_t end = std::min(map_.size(), start + nr < start ? map_.size() : start + nr);
    const auto first = static_cast<std::size_t>(start / leaf_bits_), last = static_cast<std::size_t>((end - 1) / leaf_bits_);
    for (std::size_t l = first; l <= last; ++l) tree_[leaves_pow2_ + l] = leaf_summary(l);
    for (std::size_t lo = (leaves_pow2_ + first) / 2, hi = (leaves_pow2_ + last) / 2; lo >= 1; lo /= 2, hi /= 2) {
      for (std::size_t i = lo; i <= hi; ++i) pull(i);
      if (lo == 1) break;
    }
  }

  struct query {
    bitmap_no_t pos, nr, mask, offset;
  };

  // The lowest aligned window of the free run [run_start, run_end) (all >= pos), or size().
  bitmap_no_t fit(const query& q, bitmap_no_t run_start, bitmap_no_t run_end) const noexcept {
    if (run_end - run_start < q.nr) return map_.size();
    const bitmap_no_t idx = ((run_start + q.offset + q.mask) & ~q.mask) - q.offset;
    return idx + q.nr <= run_end ? idx : map_.size();
  }

  // Visits the free runs at or after q.pos in address order and returns the first
  // aligned fit.  `carry`: free bits (all >= pos) running up to this node's low end;
  // updated to those running up to its high end when the node holds no fit.
  bitmap_no_t descend(std::size_t i, bitmap_no_t node_lo, bitmap_no_t node_hi, const query& q,
                      bitmap_no_t& carry) const noexcept {
    const bitmap_no_t none = map_.size();
    const bitmap_no_t lo = std::min(node_lo, none), hi = std::min(node_hi, none);
    if (lo >= hi || hi <= q.pos) {
      carry = 0;
      return none;
    }
    if (lo >= q.pos) {
      const summary& s = tree_[i];
      const bitmap_no_t len = hi - lo;
      if (carry + s.pre >= q.nr) // the run entering at lo: its end is lo + pre (or later, if all free)
        if (const bitmap_no_t idx = fit(q, lo - carry, lo + s.pre); idx != none) return idx;
      if (s.pre == len) {
        carry += len;
        return none;
      }
      if (s.inner < q.nr) { // no run inside can hold nr bits: only the last run goes on
        carry = s.suf;
        return none;
      }
    }
    if (i >= leaves_pow2_) return scan_leaf(lo, hi, q, carry);
    const bitmap_no_t mid = node_lo + (node_hi - node_lo) / 2;
    const bitmap_no_t r = descend(2 * i, node_lo, mid, q, carry);
    return r != none ? r : descend(2 * i + 1, mid, node_hi, q, carry);
  }

  // Word by word, like leaf_summary(): whole free words extend the current run, a
  // mixed word ends it, may hold runs inside (at most 62 bits long), and starts the next.
  bitmap_no_t scan_leaf(bitmap_no_t lo, bitmap_no_t hi, const query& q, bitmap_no_t& carry) const noexcept {
    constexpr unsigned W = bitmap::word_bits;
    const bitmap_no_t none = map_.size();
    const bitmap_no_t at = std::max(lo, q.pos);
    bool in_run = at == lo && carry > 0;
    bitmap_no_t run_start = in_run ? lo - carry : 0;
    const auto& w = map_.words();
    for (bitmap_no_t base = at & ~bitmap_no_t{W - 1}; base < hi; base += W) {
      bitmap::word x = w[base / W];
      if (base < at) x |= (bitmap::word{1} << (at - base)) - 1;  // before pos: not ours
      if (hi - base < W) x |= ~bitmap::word{0} << (hi - base);   // past the leaf
      if (x == 0) {
        if (!in_run) in_run = true, run_start = base;
        continue;
      }
      const unsigned tz = static_cast<unsigned>(std::countr_zero(x));
      const bitmap_no_t start = in_run ? run_start : base;
      if (base + tz - start >= q.nr)
        if (const bitmap_no_t idx = fit(q, start, base + tz); idx != none) return idx;
      if (q.nr <= W - 2)
        if (const bitmap_no_t idx = inner_fit(q, x, base); idx != none) return idx;
      const unsigned lz = static_cast<unsigned>(std::countl_zero(x));
      in_run = lz > 0;
      run_start = base + W - lz;
      if (q.nr >= 2 * W - 1) {
        // A run of >= 127 bits holds a whole free word: the mixed words before the next
        // free one can only hold runs of <= 126 bits.  Resume at the word just before it
        // (its leading zeros may start the run), or at the leaf's last word (for carry).
        const std::size_t cur = base / W, last = (hi - 1) / W;
        std::size_t z = cur + 1;
        while (z <= last && w[z] != 0) ++z;
        if (z - 1 > cur) {
          in_run = false;
          base = (z - 2) * W; // the loop adds W
        }
      }
    }
    if (in_run) {
      if (const bitmap_no_t idx = fit(q, run_start, hi); idx != none) return idx;
      carry = hi - run_start; // the run may go on in the next leaf
    } else {
      carry = 0;
    }
    return none;
  }

  // Free runs strictly between the first and last used bit of word x.
  bitmap_no_t inner_fit(const query& q, bitmap::word x, bitmap_no_t base) const noexcept {
    unsigned b = static_cast<unsigned>(std::countr_zero(x));
    for (;;) {
      const bitmap::word zeros = ~x & (~bitmap::word{0} << b);
      if (zeros == 0) return map_.size();
      const unsigned z = static_cast<unsigned>(std::countr_zero(zeros));
      const bitmap::word used = x & (~bitmap::word{0} << z);
      if (used == 0) return map_.size(); // the trailing run: the caller's
      const unsigned e = static_cast<unsigned>(std::countr_zero(used));
      if (e - z >= q.nr)
        if (const bitmap_no_t idx = fit(q, base + z, base + e); idx != map_.size()) return idx;
      b = e;
    }
  }

  cma::bitmap map_;
  bitmap_no_t weight_ = 0;
  bitmap_no_t leaf_bits_ = 4096;
  std::size_t nleaves_ = 0, leaves_pow2_ = 0;
  std::vector<summary> tree_;
};

} // namespace cma
