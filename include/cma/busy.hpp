// cma/busy.hpp — which windows alloc_contig_range() cannot migrate.
//
// The model cannot know why the kernel's page migration fails (pinned pages,
// pages off the LRU, …); it asks a caller-supplied *busy oracle* for each
// window the search claims: `int(pfn, count)` returning 0 (migrated), -EBUSY,
// or another error (which ends the allocation, as in mm/cma.c).  The window is
// [pfn, pfn + count) in pages: mm/cma.c passes `pfn + count`, not the
// bit-rounded size, to alloc_contig_range().  An empty oracle means nothing is
// busy.
#pragma once

#include "errno.hpp"
#include "types.hpp"

#include <boost/icl/interval_set.hpp>

#include <functional>
#include <initializer_list>

namespace cma {

using busy_oracle = std::function<int(pfn_t pfn, page_count count)>;

/// Unmovable pages: a window is busy when it contains any of them.
class unmovable_pages {
public:
  using set_type = boost::icl::interval_set<pfn_t>;

  unmovable_pages() = default;
  unmovable_pages(std::initializer_list<pfn_t> pfns) {
    for (pfn_t p : pfns) add(p);
  }

  void add(pfn_t pfn, page_count count = 1) { pfns_ += window(pfn, count); }
  void remove(pfn_t pfn, page_count count = 1) { pfns_ -= window(pfn, count); }
  bool empty() const noexcept { return boost::icl::is_empty(pfns_); }
  const set_type& pfns() const noexcept { return pfns_; }

  int operator()(pfn_t pfn, page_count count) const {
    return boost::icl::intersects(pfns_, window(pfn, count)) ? ebusy : 0;
  }

  busy_oracle oracle() const {
    return [this](pfn_t pfn, page_count count) { return (*this)(pfn, count); };
  }

private:
  // [pfn, pfn + count), the end saturated: a count near 2^64 must not wrap the interval
  // into an empty one (Boost.Icl asserts on it).
  static boost::icl::interval<pfn_t>::type window(pfn_t pfn, page_count count) {
    const pfn_t end = count > ~pfn ? ~pfn_t{0} : pfn + count;
    return boost::icl::interval<pfn_t>::right_open(pfn, end);
  }
  set_type pfns_;
};

} // namespace cma
