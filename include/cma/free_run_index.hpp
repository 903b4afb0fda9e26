// cma/free_run_index.hpp — the fast store: the bitmap plus an index of its free runs.
//
// Keeps the plain bitmap (1 bit per bitmap_no, so every answer is exact and the
// per-page cost stays 1 bit) and, beside it, the list of maximal free runs
// [start, end) in address order, cut into blocks of at most `block_runs` runs.
// Each block remembers, per alignment class, the most bits any of its runs can
// offer from its first aligned index on (an upper bound, tightened lazily).  That
// answers the question the kernel's search keeps asking — "where is the first aligned index at or after `start` with
// nr free bits?" — by skipping whole blocks of runs that are too short *or* too
// badly aligned, instead of walking every hole, which is where lib/bitmap.c spends
// its time on a fragmented area.  The index holds O(free runs) = O(live
// allocations) memory, never O(pages).
//
// Why the result is the kernel's: bitmap_find_next_zero_area_off() (lib/bitmap.c,
// 4.15 – 7.0) returns the lowest index >= start with (index + offset) a multiple of
// mask + 1 whose window of nr bits is free and ends by the end of the bitmap (it
// resumes after a collision at the colliding bit + 1, which never jumps over an
// aligned fit).  Runs are disjoint and sorted, so that index lies in the first run
// (clipped at `start`) that holds an aligned window of nr bits, at that run's first
// aligned index.  tests/test_free_run_index.cpp checks it against the plain bitmap
// op for op, with tiny blocks so splits and merges are exercised.
//
// Alignment classes are the kernel's masks 2^k - 1 (cma_bitmap_aligned_mask); a
// class's offset (cma_bitmap_aligned_offset, fixed per memrange and align) is taken
// from the first search that uses it and the class is rebuilt if another offset
// comes.  A mask that is not 2^k - 1 prunes by run length only.  Classes are built
// lazily by the search, hence the `mutable` caches: searching stays logically const,
// but two threads must not search one store at once (the model is single-threaded).
//
// Areas of at most `small_bits` bits (64 MiB at order_per_bit 0) keep no index and
// search like the reference (there the plain scan is as fast, bench/bench_alloc.cpp),
// only from the first zero bit on instead of from bit 0.
//
// Measured (bench/bench_alloc.cpp, 10,000 live allocations): 1 GiB and 16 GiB areas
// 0.37–0.56 us per alloc+release against 9–11.5 us for the reference.
//
// Invariants (is_valid): the runs are exactly the bitmap's maximal zero runs; no
// block is empty or over capacity; no cached bound is below the one recomputed from
// its block (bounds may be loose, see gained()); the cached weight equals the bitmap's.
#pragma once

#include "bitmap.hpp"
#include "types.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace cma {

class free_run_index {
public:
  free_run_index() = default;
  /// Blocks of at most `block_runs` runs; no index for areas of <= `small_bits` bits.
  explicit free_run_index(bitmap_no_t nbits, std::size_t block_runs = 64, bitmap_no_t small_bits = 16384)
      : map_(nbits), block_runs_(std::max<std::size_t>(block_runs, 2)), indexed_(nbits > small_bits) {
    if (!indexed_) return;
    classes_[0].active = true; // run length: always kept, it is also longest_run()
    active_.push_back(0);
    if (nbits > 0) insert_block(0, block{{run{0, nbits}}});
  }

  bitmap_no_t size() const noexcept { return map_.size(); }
  bool test(bitmap_no_t i) const noexcept { return map_.test(i); }
  bitmap_no_t weight() const noexcept { return indexed_ ? weight_ : map_.weight(); }
  bitmap_no_t used_bits(bitmap_no_t start, bitmap_no_t nr) const noexcept { return map_.weight(start, nr); }
  const cma::bitmap& bits() const noexcept { return map_; }
  bool has_index() const noexcept { return indexed_; }
  std::size_t run_count() const noexcept {
    std::size_t n = 0;
    for (const auto& b : blocks_) n += b.runs.size();
    return n;
  }

  bitmap_no_t find_next_zero_area_off(bitmap_no_t start, std::uint64_t nr64, bitmap_no_t mask,
                                      bitmap_no_t offset) const {
    const bitmap_no_t nr = static_cast<std::uint32_t>(nr64); // `unsigned int nr` in lib/bitmap.c
    if (!indexed_) return small_search(start, nr64, mask, offset);
    if (nr == 0) return map_.find_next_zero_area_off(map_.size(), start, nr64, mask, offset);
    return indexed_search(start, nr, mask, offset);
  }

  void set(bitmap_no_t start, bitmap_no_t nr) noexcept {
    if (!indexed_) return map_.set(start, nr);
    const bitmap_no_t end = clamp_end(start, nr);
    if (start >= end) return;
    map_.set(start, nr);
    weight_ += take(start, end);
  }
  void clear(bitmap_no_t start, bitmap_no_t nr) noexcept {
    if (!indexed_) {
      if (nr > 0) first_zero_ = std::min(first_zero_, start);
      return map_.clear(start, nr);
    }
    const bitmap_no_t end = clamp_end(start, nr);
    if (start >= end) return;
    map_.clear(start, nr);
    weight_ -= (end - start) - give(start, end);
  }

  template <class F> void for_each_free_run(F&& f) const {
    if (!indexed_) return map_.for_each_zero_run(std::forward<F>(f));
    for (const auto& b : blocks_)
      for (const run& r : b.runs) f(r.start, r.end - r.start);
  }
  bitmap_no_t longest_run() const {
    if (!indexed_) return map_.longest_zero_run();
    bitmap_no_t best = 0;
    for (const auto& b : blocks_)
      for (const run& r : b.runs) best = std::max(best, r.end - r.start); // exact even past 2^32 bits
    return best;
  }

  std::size_t memory_bytes() const noexcept { return bitmap_bytes() + index_bytes(); }
  std::size_t bitmap_bytes() const noexcept { return map_.words().capacity() * sizeof(bitmap::word); }
  /// What the index adds to the bitmap: O(free runs), independent of the area's size.
  std::size_t index_bytes() const noexcept {
    std::size_t n = blocks_.capacity() * sizeof(block) + last_end_.capacity() * sizeof(bitmap_no_t) +
                    active_.capacity() * sizeof(unsigned);
    for (const auto& b : blocks_) n += b.runs.capacity() * sizeof(run);
    for (const auto& c : classes_) n += c.cap.capacity() * sizeof(cap_t);
    return n;
  }

  bool is_valid() const {
    if (!indexed_) return map_.find_next_zero_bit(map_.size(), 0) >= std::min(first_zero_, map_.size());
    if (weight_ != map_.weight()) return false;
    std::vector<run> expect, have;
    map_.for_each_zero_run([&](bitmap_no_t s, bitmap_no_t len) { expect.push_back({s, s + len}); });
    if (last_end_.size() != blocks_.size()) return false;
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
      const auto& b = blocks_[i];
      if (b.runs.empty() || b.runs.size() > block_runs_ || last_end_[i] != b.runs.back().end) return false;
      have.insert(have.end(), b.runs.begin(), b.runs.end());
    }
    if (expect != have) return false;
    for (unsigned c : active_) {
      if (classes_[c].cap.size() != blocks_.size()) return false;
      for (std::size_t b = 0; b < blocks_.size(); ++b)
        if (classes_[c].cap[b] < block_cap(b, classes_[c])) return false;
    }
    return true;
  }

private:
  struct run {
    bitmap_no_t start = 0, end = 0; ///< free bits [start, end)
    friend bool operator==(const run&, const run&) = default;
  };
  struct block {
    std::vector<run> runs; ///< sorted, disjoint, never touching (runs are maximal)
  };
  // Bounds are compared with nr, which lib/bitmap.c holds in 32 bits: saturating is exact.
  using cap_t = std::uint32_t;
  struct align_class {
    bool active = false;
    bitmap_no_t mask = 0, offset = 0;
    std::vector<cap_t> cap; ///< per block: the most bits one of its runs offers from an aligned index
  };
  struct query {
    bitmap_no_t pos, nr, mask, offset;
  };
  struct position {
    std::size_t b, k; ///< block, run within it; b == blocks_.size(): past the last run
  };

  bitmap_no_t none() const noexcept { return map_.size(); }
  bitmap_no_t clamp_end(bitmap_no_t start, bitmap_no_t nr) const noexcept {
    return start + nr < start || start + nr > map_.size() ? map_.size() : start + nr;
  }

  // lib/bitmap.c's round-up: the first index >= s with (index + offset) % (mask + 1) == 0.
  static bitmap_no_t aligned(bitmap_no_t s, bitmap_no_t mask, bitmap_no_t offset) noexcept {
    return ((s + offset + mask) & ~mask) - offset;
  }
  static cap_t usable(const run& r, const align_class& c) noexcept {
    const bitmap_no_t idx = aligned(r.start, c.mask, c.offset);
    if (idx >= r.end) return 0;
    return static_cast<cap_t>(std::min<bitmap_no_t>(r.end - idx, std::numeric_limits<cap_t>::max()));
  }
  cap_t block_cap(std::size_t b, const align_class& c) const noexcept {
    cap_t best = 0;
    for (const run& r : blocks_[b].runs) best = std::max(best, usable(r, c));
    return best;
  }

  // The class whose bounds prune this search: exact for masks 2^k - 1, run length otherwise.
  align_class& class_for(bitmap_no_t mask, bitmap_no_t offset) const {
    if (!std::has_single_bit(mask + 1)) return classes_[0];
    const auto k = static_cast<unsigned>(std::countr_zero(mask + 1));
    align_class& c = classes_[k];
    if (c.active && c.offset == offset) return c;
    if (!c.active) active_.push_back(k);
    c.active = true;
    c.mask = mask;
    c.offset = offset;
    c.cap.resize(blocks_.size());
    for (std::size_t b = 0; b < blocks_.size(); ++b) c.cap[b] = block_cap(b, c);
    return c;
  }

  // A small area is searched as lib/bitmap.c searches it, only not from bit 0 each time:
  // every bit below first_zero_ is set, so the kernel's first find_next_zero_bit() lands
  // at or after it whatever `start` is — starting there gives its very answer.
  bitmap_no_t small_search(bitmap_no_t start, std::uint64_t nr64, bitmap_no_t mask, bitmap_no_t offset) const noexcept {
    first_zero_ = map_.find_next_zero_bit(map_.size(), first_zero_);
    return map_.find_next_zero_area_off(map_.size(), std::max(start, first_zero_), nr64, mask, offset);
  }

  // Kept out of line so that the small-area path above inlines into the caller's loop
  // exactly as the reference's does.
  [[gnu::noinline]] bitmap_no_t indexed_search(bitmap_no_t start, bitmap_no_t nr, bitmap_no_t mask,
                                               bitmap_no_t offset) const {
    if (start >= map_.size()) return none();
    align_class& cls = class_for(mask, offset);
    const query q{start, nr, mask, offset};
    auto [b, k] = start == 0 ? position{0, 0} : first_run_ending_after(start);
    if (b < blocks_.size()) { // the rest of the block holding `start`, its first run clipped
      // (clipping only shortens what a run offers: a block whose bound is short is skipped too)
      if (cls.cap[b] >= nr)
        if (const bitmap_no_t idx = scan_block(b, k, q); idx != none()) return idx;
      ++b;
    }
    for (; b < blocks_.size(); ++b) {
      if (cls.cap[b] < nr) continue;
      if (const bitmap_no_t idx = scan_block(b, 0, q); idx != none()) return idx;
      cls.cap[b] = block_cap(b, cls); // a loose bound (see gained()): the scan proved it, tighten it
    }
    return none();
  }

  // The first aligned window of nr bits in block b's runs from k on (the first clipped at q.pos).
  bitmap_no_t scan_block(std::size_t b, std::size_t k, const query& q) const noexcept {
    const auto& runs = blocks_[b].runs;
    for (; k < runs.size(); ++k) {
      const bitmap_no_t idx = aligned(std::max(runs[k].start, q.pos), q.mask, q.offset);
      if (idx < runs[k].end && runs[k].end - idx >= q.nr) {
        found_ = {b, k};
        return idx;
      }
    }
    return none();
  }

  // The run holding x, if it is the one the last search found (cma_alloc claims the
  // window it just found): then no binary search is needed.  Checked, never trusted.
  bool found_holds(bitmap_no_t x) const noexcept {
    return found_.b < blocks_.size() && found_.k < blocks_[found_.b].runs.size() &&
           blocks_[found_.b].runs[found_.k].start <= x && x < blocks_[found_.b].runs[found_.k].end;
  }

  // The first run whose end is > x (strict) or >= x (touching), by binary search over
  // the blocks' last ends (kept contiguous: this runs on every search and update).
  position first_run_ending_after(bitmap_no_t x, bool touching = false) const noexcept {
    const bitmap_no_t bound = touching ? x : x + 1; // the first end >= bound
    const auto bi = std::lower_bound(last_end_.begin(), last_end_.end(), bound);
    if (bi == last_end_.end()) return {blocks_.size(), 0};
    const std::size_t b = static_cast<std::size_t>(bi - last_end_.begin());
    const auto& runs = blocks_[b].runs;
    const auto ki = std::partition_point(runs.begin(), runs.end(), [&](const run& r) { return r.end < bound; });
    return {b, static_cast<std::size_t>(ki - runs.begin())};
  }

  static bitmap_no_t overlap(const run& r, bitmap_no_t start, bitmap_no_t end) noexcept {
    const bitmap_no_t lo = std::max(r.start, start), hi = std::min(r.end, end);
    return hi > lo ? hi - lo : 0;
  }

  // [start, end) became used: runs inside it go, runs crossing its ends are trimmed.
  // Returns how many of its bits were free (the change in weight).
  bitmap_no_t take(bitmap_no_t start, bitmap_no_t end) {
    bitmap_no_t was_free = 0;
    position p = found_holds(start) ? found_ : first_run_ending_after(start);
    while (p.b < blocks_.size()) {
      const run r = blocks_[p.b].runs[p.k];
      if (r.start >= end) break;
      was_free += overlap(r, start, end);
      const bool left = r.start < start, right = r.end > end;
      if (left && right) {
        replace(p, {r.start, start});
        insert(p.b, p.k + 1, {end, r.end});
        break;
      }
      if (right) {
        replace(p, {end, r.end});
        break;
      }
      if (left) {
        replace(p, {r.start, start});
        p = next(p);
        continue;
      }
      p = erase(p);
    }
    return was_free;
  }

  // [start, end) became free: it joins the runs it touches or overlaps into one.
  // Returns how many of its bits were free already.
  bitmap_no_t give(bitmap_no_t start, bitmap_no_t end) {
    const position first = first_run_ending_after(start, true);
    if (first.b == blocks_.size() || blocks_[first.b].runs[first.k].start > end) {
      insert_before(first, {start, end});
      return 0;
    }
    const run& f = blocks_[first.b].runs[first.k];
    bitmap_no_t was_free = overlap(f, start, end);
    run merged{std::min(start, f.start), std::max(end, f.end)};
    // Later runs starting by `end` are absorbed; erasing them never moves `first`.
    for (position p = next(first); p.b < blocks_.size() && blocks_[p.b].runs[p.k].start <= end;) {
      const run r = blocks_[p.b].runs[p.k];
      was_free += overlap(r, start, end);
      merged.end = std::max(merged.end, r.end);
      p = erase(p);
    }
    replace(first, merged);
    return was_free;
  }

  position next(position p) const noexcept {
    return ++p.k < blocks_[p.b].runs.size() ? p : position{p.b + 1, 0};
  }

  // A run that leaves a block or shrinks leaves its bounds as they were: still upper
  // bounds, maybe loose.  Recomputing them there was most of the cost of an update (the
  // run an allocation trims is often its block's best); a search that scans the block in
  // vain tightens the bound of its class instead, paid for by the scan it just made.
  void gained(std::size_t b, const run& added) {
    for (unsigned c : active_) {
      align_class& cls = classes_[c];
      cls.cap[b] = std::max(cls.cap[b], usable(added, cls));
    }
  }

  void replace(position p, run r) {
    run& slot = blocks_[p.b].runs[p.k];
    slot = r;
    last_end_[p.b] = blocks_[p.b].runs.back().end;
    gained(p.b, r);
  }
  // Returns the position of the run that followed the erased one.
  position erase(position p) {
    auto& runs = blocks_[p.b].runs;
    runs.erase(runs.begin() + static_cast<std::ptrdiff_t>(p.k));
    if (runs.empty()) {
      remove_block(p.b);
      return {p.b, 0};
    }
    last_end_[p.b] = runs.back().end;
    return p.k < runs.size() ? p : position{p.b + 1, 0};
  }
  void insert_before(position p, run r) {
    if (blocks_.empty()) return insert_block(0, block{{r}});
    if (p.b == blocks_.size()) p = {p.b - 1, blocks_.back().runs.size()};
    insert(p.b, p.k, r);
  }
  void insert(std::size_t b, std::size_t k, run r) {
    auto& runs = blocks_[b].runs;
    runs.insert(runs.begin() + static_cast<std::ptrdiff_t>(k), r);
    last_end_[b] = runs.back().end;
    if (runs.size() <= block_runs_) return gained(b, r);
    // Full: the upper half becomes a block of its own, and both bounds are recomputed.
    block upper{{runs.begin() + static_cast<std::ptrdiff_t>(runs.size() / 2), runs.end()}};
    runs.resize(runs.size() / 2);
    last_end_[b] = runs.back().end;
    for (unsigned c : active_) classes_[c].cap[b] = block_cap(b, classes_[c]);
    insert_block(b + 1, std::move(upper));
  }
  void insert_block(std::size_t b, block bl) {
    bl.runs.reserve(block_runs_ + 1); // one over: a full block splits after its insert
    last_end_.insert(last_end_.begin() + static_cast<std::ptrdiff_t>(b), bl.runs.back().end);
    blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(b), std::move(bl));
    for (unsigned c : active_) {
      auto& cap = classes_[c].cap;
      cap.insert(cap.begin() + static_cast<std::ptrdiff_t>(b), block_cap(b, classes_[c]));
    }
  }
  void remove_block(std::size_t b) {
    blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(b));
    last_end_.erase(last_end_.begin() + static_cast<std::ptrdiff_t>(b));
    for (unsigned c : active_) classes_[c].cap.erase(classes_[c].cap.begin() + static_cast<std::ptrdiff_t>(b));
  }

  cma::bitmap map_;
  bitmap_no_t weight_ = 0;
  std::size_t block_runs_ = 64;
  bool indexed_ = false;
  std::vector<block> blocks_;
  std::vector<bitmap_no_t> last_end_; ///< blocks_[b].runs.back().end, for the binary search
  mutable std::array<align_class, 64> classes_{};
  mutable std::vector<unsigned> active_;
  mutable position found_{~std::size_t{0}, 0}; ///< where the last search's window lies
  mutable bitmap_no_t first_zero_ = 0;          ///< small areas: no zero bit below it
};

} // namespace cma
