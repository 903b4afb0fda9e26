// cma/free_extents.hpp — the fast store: an index over the free extents of a bitmap.
//
// Models the same state as cma::bitmap (which bits of a memrange are set) but
// keeps only the maximal runs of zero bits, in a treap ordered by start and
// augmented with the longest run in each subtree.  That answers the kernel's
// bitmap_find_next_zero_area_off() question — "lowest aligned index >= start
// with nr free bits" — by skipping every subtree whose longest run is < nr, in
// O(log n + k) where k counts runs that are long enough but fail alignment.
//
// Why this gives the kernel's answer: lib/bitmap.c resumes after a collision at
// the colliding bit + 1 and re-rounds, which never skips an aligned fit, so its
// result is exactly the lowest aligned fit (see tests/test_free_extents.cpp,
// which checks the two op for op).
//
// Memory: one node (48 bytes) per free run, i.e. O(live allocations) and no
// per-page storage at all.  Priorities come from a member xorshift, so the
// shape — and every result — is deterministic.
//
// Invariants (is_valid): runs sorted, disjoint, non-adjacent, non-empty, inside
// [0, size); heap order on priorities; max_len and the free total consistent.
#pragma once

#include "types.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <utility>
#include <vector>

namespace cma {

class free_extents {
public:
  free_extents() = default;
  /// A store of `nbits` bits, all clear (one free run covering everything).
  explicit free_extents(bitmap_no_t nbits) : size_(nbits) {
    if (nbits) root_ = make(0, nbits), free_total_ = nbits;
  }

  bitmap_no_t size() const noexcept { return size_; }
  bitmap_no_t free_bits() const noexcept { return free_total_; }
  bitmap_no_t weight() const noexcept { return size_ - free_total_; }
  std::size_t runs() const noexcept { return nodes_.size() - spare_.size(); }

  bool test(bitmap_no_t i) const noexcept { return !covering(i); }

  /// Lowest idx >= start with (idx + offset) % (mask + 1) == 0 and [idx, idx+nr)
  /// free; `size()` when there is none.  nr is truncated to 32 bits like the kernel's.
  bitmap_no_t find_next_zero_area_off(bitmap_no_t start, std::uint64_t nr64, bitmap_no_t mask,
                                      bitmap_no_t offset) const noexcept {
    const bitmap_no_t nr = static_cast<std::uint32_t>(nr64);
    bitmap_no_t found = size_;
    search(root_, start, nr, mask, offset, found);
    return found;
  }

  /// bitmap_set(): mark [start, start+nr) used (clamped to size()).
  void set(bitmap_no_t start, bitmap_no_t nr) {
    const bitmap_no_t end = clamp_end(start, nr);
    if (start >= end) return;
    auto [left, right] = split(root_, start);
    std::uint32_t piece = nil;
    if (left != nil) { // a run starting before `start` may reach into the range
      auto [rest, last] = pop_max(left);
      left = rest;
      if (n(last).end() > start) {
        const bitmap_no_t a = n(last).start, b = n(last).end();
        free_total_ -= std::min(b, end) - start;
        reuse(last, a, start - a);
        left = merge(left, last);
        if (b > end) piece = make(end, b - end);
      } else {
        left = merge(left, last);
      }
    }
    while (right != nil && n(min_node(right)).start < end) { // runs starting inside
      auto [first, rest] = pop_min(right);
      right = rest;
      const bitmap_no_t a = n(first).start, b = n(first).end();
      free_total_ -= std::min(b, end) - a;
      if (b > end) reuse(first, end, b - end), right = merge(first, right);
      else release_node(first);
    }
    root_ = merge(merge(left, piece), right);
  }

  /// bitmap_clear(): mark [start, start+nr) free (clamped), merging with neighbours.
  void clear(bitmap_no_t start, bitmap_no_t nr) {
    const bitmap_no_t req_start = start, req_end = clamp_end(start, nr);
    if (req_start >= req_end) return;
    bitmap_no_t s = req_start, e = req_end, already_free = 0;
    auto [left, right] = split(root_, req_start);
    if (left != nil) { // the run before may touch or overlap the range
      auto [rest, last] = pop_max(left);
      if (n(last).end() >= req_start) {
        already_free += overlap(last, req_start, req_end);
        s = n(last).start;
        e = std::max(e, n(last).end());
        release_node(last);
        left = rest;
      } else {
        left = merge(rest, last);
      }
    }
    while (right != nil && n(min_node(right)).start <= e) { // runs inside or adjacent after
      auto [first, rest] = pop_min(right);
      right = rest;
      already_free += overlap(first, req_start, req_end);
      e = std::max(e, n(first).end());
      release_node(first);
    }
    free_total_ += (req_end - req_start) - already_free;
    root_ = merge(merge(left, make(s, e - s)), right);
  }

  /// Calls f(start, len) for every free run in ascending order.
  template <class F> void for_each_free_run(F&& f) const {
    std::vector<std::uint32_t> stack;
    std::uint32_t t = root_;
    while (t != nil || !stack.empty()) {
      while (t != nil) stack.push_back(t), t = n(t).left;
      t = stack.back();
      stack.pop_back();
      f(n(t).start, n(t).len);
      t = n(t).right;
    }
  }

  /// Heap bytes held (the node pool), for the memory benchmark.
  std::size_t memory_bytes() const noexcept {
    return nodes_.capacity() * sizeof(node) + spare_.capacity() * sizeof(std::uint32_t);
  }

  bitmap_no_t longest_run() const noexcept { return root_ == nil ? 0 : n(root_).max_len; }

  bool is_valid() const {
    bitmap_no_t total = 0, prev_end = 0;
    bool first = true, ok = true;
    for_each_free_run([&](bitmap_no_t s, bitmap_no_t l) {
      if (l == 0 || s + l > size_ || (!first && s <= prev_end)) ok = false;
      prev_end = s + l;
      total += l;
      first = false;
    });
    return ok && total == free_total_ && check_node(root_);
  }

private:
  static constexpr std::uint32_t nil = ~std::uint32_t{0};

  struct node {
    bitmap_no_t start = 0;
    bitmap_no_t len = 0;
    bitmap_no_t max_len = 0; // longest run in this subtree
    std::uint32_t prio = 0;
    std::uint32_t left = nil;
    std::uint32_t right = nil;
    bitmap_no_t end() const noexcept { return start + len; }
  };

  node& n(std::uint32_t i) noexcept { return nodes_[i]; }
  const node& n(std::uint32_t i) const noexcept { return nodes_[i]; }

  bitmap_no_t clamp_end(bitmap_no_t start, bitmap_no_t nr) const noexcept {
    const bitmap_no_t end = (nr > size_ - std::min(start, size_)) ? size_ : start + nr;
    return end;
  }

  std::uint32_t next_prio() noexcept { // xorshift32: deterministic, no global state
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 17;
    rng_ ^= rng_ << 5;
    return rng_;
  }

  std::uint32_t make(bitmap_no_t start, bitmap_no_t len) {
    std::uint32_t i;
    if (!spare_.empty()) {
      i = spare_.back();
      spare_.pop_back();
    } else {
      i = static_cast<std::uint32_t>(nodes_.size());
      nodes_.emplace_back();
    }
    nodes_[i] = node{start, len, len, next_prio(), nil, nil};
    return i;
  }
  void reuse(std::uint32_t i, bitmap_no_t start, bitmap_no_t len) noexcept {
    n(i).start = start;
    n(i).len = n(i).max_len = len;
    n(i).left = n(i).right = nil;
  }
  void release_node(std::uint32_t i) { spare_.push_back(i); }

  void pull(std::uint32_t t) noexcept {
    bitmap_no_t m = n(t).len;
    if (n(t).left != nil) m = std::max(m, n(n(t).left).max_len);
    if (n(t).right != nil) m = std::max(m, n(n(t).right).max_len);
    n(t).max_len = m;
  }

  // (runs starting < key, runs starting >= key)
  std::pair<std::uint32_t, std::uint32_t> split(std::uint32_t t, bitmap_no_t key) noexcept {
    if (t == nil) return {nil, nil};
    if (n(t).start < key) {
      auto [l, r] = split(n(t).right, key);
      n(t).right = l;
      pull(t);
      return {t, r};
    }
    auto [l, r] = split(n(t).left, key);
    n(t).left = r;
    pull(t);
    return {l, t};
  }

  std::uint32_t merge(std::uint32_t a, std::uint32_t b) noexcept {
    if (a == nil) return b;
    if (b == nil) return a;
    if (n(a).prio > n(b).prio) {
      n(a).right = merge(n(a).right, b);
      pull(a);
      return a;
    }
    n(b).left = merge(a, n(b).left);
    pull(b);
    return b;
  }

  std::uint32_t min_node(std::uint32_t t) const noexcept {
    while (n(t).left != nil) t = n(t).left;
    return t;
  }
  // (tree without its last run, that run detached)
  std::pair<std::uint32_t, std::uint32_t> pop_max(std::uint32_t t) noexcept {
    if (n(t).right == nil) {
      const std::uint32_t l = n(t).left;
      n(t).left = nil;
      pull(t);
      return {l, t};
    }
    auto [rest, last] = pop_max(n(t).right);
    n(t).right = rest;
    pull(t);
    return {t, last};
  }
  // (first run detached, tree without it)
  std::pair<std::uint32_t, std::uint32_t> pop_min(std::uint32_t t) noexcept {
    if (n(t).left == nil) {
      const std::uint32_t r = n(t).right;
      n(t).right = nil;
      pull(t);
      return {t, r};
    }
    auto [first, rest] = pop_min(n(t).left);
    n(t).left = rest;
    pull(t);
    return {first, t};
  }

  bool covering(bitmap_no_t i) const noexcept { // is bit i inside a free run?
    std::uint32_t t = root_;
    while (t != nil) {
      if (i < n(t).start) t = n(t).left;
      else if (i >= n(t).end()) t = n(t).right;
      else return true;
    }
    return false;
  }

  static bitmap_no_t align_up(bitmap_no_t idx, bitmap_no_t mask, bitmap_no_t offset) noexcept {
    return ((idx + offset + mask) & ~mask) - offset;
  }

  // In-order search for the lowest fit; `found` holds the best answer so far.
  bool search(std::uint32_t t, bitmap_no_t start, bitmap_no_t nr, bitmap_no_t mask, bitmap_no_t offset,
              bitmap_no_t& found) const noexcept {
    while (t != nil) {
      const node& x = n(t);
      if (x.max_len < nr) return false;
      if (x.end() <= start) { // this run and everything left of it end before start
        t = x.right;
        continue;
      }
      if (x.left != nil && search(x.left, start, nr, mask, offset, found)) return true;
      const bitmap_no_t idx = align_up(std::max(x.start, start), mask, offset);
      if (idx + nr <= x.end()) {
        found = idx;
        return true;
      }
      t = x.right;
    }
    return false;
  }

  bitmap_no_t overlap(std::uint32_t t, bitmap_no_t a, bitmap_no_t b) const noexcept {
    const bitmap_no_t lo = std::max(n(t).start, a), hi = std::min(n(t).end(), b);
    return hi > lo ? hi - lo : 0;
  }

  bool check_node(std::uint32_t t) const {
    if (t == nil) return true;
    bitmap_no_t m = n(t).len;
    for (std::uint32_t c : {n(t).left, n(t).right}) {
      if (c == nil) continue;
      if (n(c).prio > n(t).prio || !check_node(c)) return false;
      m = std::max(m, n(c).max_len);
    }
    return m == n(t).max_len;
  }

  bitmap_no_t size_ = 0;
  bitmap_no_t free_total_ = 0;
  std::uint32_t root_ = nil;
  std::uint32_t rng_ = 0x9e3779b9u;
  std::vector<node> nodes_;
  std::vector<std::uint32_t> spare_;
};

} // namespace cma
