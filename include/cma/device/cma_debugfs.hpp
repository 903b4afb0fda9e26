// cma/device/cma_debugfs.hpp — one area's directory under <debugfs>/cma/ (mm/cma_debug.c,
// CONFIG_CMA_DEBUGFS), as each kernel version creates it, with the `alloc` and `free`
// write handlers and the list of allocations they keep (cma->mem_head).
//
// Directory name (cma_debug.hpp debugfs_dir): "cma-<name>" cut to 15 characters up to
// 6.0 (scnprintf into char[16]; 4.15's field notes: cma-reserved), the plain name from
// 6.1 ("mm/cma_debug: show complete cma name in debugfs directories", posted 2022-08-11).
//
// Files, in creation order:
//   4.15 – 6.14  alloc free base_pfn count order_per_bit used maxchunk bitmap
//   6.15+        alloc free count order_per_bit used maxchunk ranges/N/base_pfn
//                ranges/N/bitmap (N = 0 … nranges-1), and base_pfn and bitmap as symlinks
//                to ranges/0/base_pfn and ranges/0/bitmap
// Reads (simple_attr.hpp: "%llu\n" decimal): base_pfn (range 0, or range N), count (all
// ranges), order_per_bit, used and maxchunk (cma_debug.hpp debugfs_used / _maxchunk: ≤6.14
// set bits << order_per_bit, 6.15+ count - available_count); bitmap through
// debugfs_u32_array.hpp.  `alloc` and `free` have no getter: read → -EACCES.  The
// read-only attributes have no setter: write → -EACCES.  `bitmap` has no write operation:
// write → -EINVAL (vfs_write without FMODE_CAN_WRITE).  `ranges`, `ranges/N`: -EISDIR;
// anything else -ENOENT.
//
// Writes (both parse the input as simple_attr.hpp says, then `int pages = val`: the low
// 32 bits, two's complement, so 2^31 and above are negative):
//   alloc  cma_alloc(cma, pages, align 0, no_warn false) — 4.15 passes GFP_KERNEL, which
//          warns too.  The int widens to the unsigned count with its sign, so a negative
//          value asks for ~2^64 pages and fails.  Success: a record {page, n = pages} is
//          put at the HEAD of mem_head (hlist_add_head) and the write returns its length;
//          failure: no record, -ENOMEM (whatever cma_alloc's own ret was, e.g. 6.15's
//          -EBUSY).
//   free   while pages != 0: take the head record (none left: stop, return 0);
//            n <= pages (pages compared as unsigned long, so a negative int is huge):
//              cma_release(page, n), pages -= n (int arithmetic), drop the record;
//            else, order_per_bit == 0: cma_release(page, pages) frees the FIRST `pages`
//              pages of that allocation, the record keeps the rest (page += pages,
//              n -= pages) and goes back to the head; stop;
//            else: pr_debug "cma: cannot release partial block when order_per_bit != 0"
//              (no pr_fmt in cma_debug.c: the "cma: " is part of the text), the record goes
//              back to the head; stop.
//          Always returns 0, so the write returns its length, however many pages were
//          freed; cma_release's own answer is ignored.  A value >= 2^31 (negative int)
//          therefore frees every record.
// The layout is the same in 4.15, 5.10, 6.1, 6.6 and 6.12 (KERNEL-FACTS §4); only the
// locking (mutex, then spinlock) and the directory name changed before 6.15.
//
// Knowingly different: 4.15's maxchunk never returns when order_per_bit > 0 (its loop
// ends on `start >= cma->count`, pages, while the search is bounded by the bitmap's bit
// count); read() answers the 5.10 value and maxchunk_hangs() says so.  order_per_bit is
// read through an unsigned long* aimed at an unsigned int: the upper half is the next
// member (padding in 4.15/5.10, the unlocked spinlock word in 6.x), 0 as read here.  The
// bitmap is formatted at open(); read() opens and reads at once.  kzalloc failing
// (-ENOMEM before cma_alloc) is not modelled.
//
// Invariants (is_valid): every record lies inside the area, n > 0, and its pages are
// under set bits — true as long as only `free` releases what `alloc` took.  The class
// keeps a pointer to the allocator: the allocator must outlive it.
#pragma once

#include "../allocator.hpp"
#include "../busy.hpp"
#include "../cma_debug.hpp"
#include "debugfs_u32_array.hpp"
#include "file_result.hpp"
#include "simple_attr.hpp"

#include <charconv>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cma::device {

inline constexpr int eisdir = -21; ///< read/write of a directory (ranges/, ranges/N/)

/// mm/cma_debug.c struct cma_mem: one allocation made through `alloc`.
struct cma_mem {
  pfn_t pfn = 0;     ///< first page (mem->p)
  page_count n = 0;  ///< pages (mem->n)
  friend bool operator==(const cma_mem&, const cma_mem&) = default;
};

/// One cma_release() a `free` write made, in order.
struct debugfs_release {
  pfn_t pfn = 0;
  page_count count = 0;
  release_result result;
};

/// The pr_debug line of a partial free refused under order_per_bit > 0 (no pr_fmt prefix added).
inline constexpr std::string_view cma_debugfs_partial_release_msg = "cma: cannot release partial block when order_per_bit != 0";

/// What `echo N > alloc` did.
struct debugfs_alloc_outcome {
  write_result write;                ///< write(2)'s return
  std::optional<alloc_result> alloc; ///< the cma_alloc call (absent when the input was refused)
  std::int32_t pages = 0;            ///< the int the handler received
};

/// What `echo N > free` did.
struct debugfs_free_outcome {
  write_result write;                    ///< write(2)'s return
  std::vector<debugfs_release> releases; ///< every cma_release call, in order
  bool partial_refused = false;          ///< the order_per_bit > 0 refusal (its pr_debug line)
  std::int32_t pages = 0;                ///< the int the handler received
  bool parsed = false;                   ///< the handler ran (false: the input was refused)
};

template <class Area = allocator> class cma_debugfs {
public:
  explicit cma_debugfs(Area& area) : area_(&area) {}

  const Area& area() const noexcept { return *area_; }
  const profile& prof() const noexcept { return area_->prof(); }

  /// The directory under <debugfs>/cma/.
  std::string dir_name() const { return debugfs_dir(area_->name(), prof()); }

  /// Does this version split the area into ranges/N/ (6.15+)?
  bool has_ranges_dir() const noexcept { return prof().version >= kernel_version{6, 15, 0}; }

  /// Every file of the directory, as paths relative to it, in creation order.
  std::vector<std::string> files() const {
    std::vector<std::string> f = {"alloc", "free"};
    if (!has_ranges_dir()) {
      for (const char* x : {"base_pfn", "count", "order_per_bit", "used", "maxchunk", "bitmap"}) f.emplace_back(x);
      return f;
    }
    for (const char* x : {"count", "order_per_bit", "used", "maxchunk"}) f.emplace_back(x);
    for (unsigned r = 0; r < area_->ranges().size(); ++r) {
      f.push_back(range_dir(r) + "/base_pfn");
      f.push_back(range_dir(r) + "/bitmap");
    }
    f.emplace_back("base_pfn");
    f.emplace_back("bitmap");
    return f;
  }
  /// 6.15+: `base_pfn` and `bitmap` are symlinks to ranges/0/…; their target, or nullopt.
  std::optional<std::string> symlink_target(std::string_view path) const {
    if (has_ranges_dir() && (path == "base_pfn" || path == "bitmap")) return "ranges/0/" + std::string(path);
    return std::nullopt;
  }

  /// 4.15 with order_per_bit > 0: reading maxchunk never returns on the real kernel.
  bool maxchunk_hangs() const noexcept { return prof().version < kernel_version{5, 10, 0} && area_->order_per_bit() > 0; }

  // ------------------------------------------------------------------ reads
  /// `cat <path>`: the text, or -EACCES / -EISDIR / -ENOENT.
  read_result read(std::string_view path) const {
    if (auto t = symlink_target(path)) return read(*t);
    if (path == "alloc" || path == "free") return {eacces, {}};
    if (path == "count") return {0, simple_attr_llu(area_->count())};
    if (path == "order_per_bit") return {0, simple_attr_llu(area_->order_per_bit())};
    if (path == "used") return {0, simple_attr_llu(debugfs_used(*area_))};
    if (path == "maxchunk") return {0, simple_attr_llu(debugfs_maxchunk(*area_))};
    if (!has_ranges_dir()) {
      if (path == "base_pfn") return {0, simple_attr_llu(area_->base_pfn())};
      if (path == "bitmap") return {0, debugfs_u32_array_text(*area_, 0)};
      return {enoent, {}};
    }
    if (path == "ranges") return {eisdir, {}};
    const auto [r, leaf] = split_range_path(path);
    if (!r) return {enoent, {}};
    if (leaf.empty()) return {eisdir, {}};
    if (leaf == "base_pfn") return {0, simple_attr_llu(area_->ranges()[*r].base_pfn)};
    if (leaf == "bitmap") return {0, debugfs_u32_array_text(*area_, *r)};
    return {enoent, {}};
  }

  // ----------------------------------------------------------------- writes
  /// `echo … > <path>` (data as the shell writes it, "102400\n").  `busy` decides each
  /// alloc_contig_range of an alloc write.
  write_result write(std::string_view path, std::string_view data, const busy_oracle& busy = {}) {
    if (path == "alloc") return write_alloc(data, busy).write;
    if (path == "free") return write_free(data).write;
    // 6.15+'s base_pfn and bitmap symlinks answer as their targets do, which is as below.
    if (path == "bitmap") return {einval, 0};
    if (path == "base_pfn" || path == "count" || path == "order_per_bit" || path == "used" || path == "maxchunk")
      return {eacces, 0};
    if (has_ranges_dir()) {
      if (path == "ranges") return {eisdir, 0};
      const auto [r, leaf] = split_range_path(path);
      if (r && leaf.empty()) return {eisdir, 0};
      if (r && leaf == "bitmap") return {einval, 0};
      if (r && leaf == "base_pfn") return {eacces, 0};
    }
    return {enoent, 0};
  }

  /// `echo … > alloc`.
  debugfs_alloc_outcome write_alloc(std::string_view data, const busy_oracle& busy = {}) {
    const auto v = simple_attr_parse(data, prof());
    if (!v.ok()) return {{v.err, 0}, std::nullopt, 0};
    auto out = alloc(v.val, busy);
    out.write = simple_attr_written(data, out.write.err);
    return out;
  }
  /// `echo … > free`.
  debugfs_free_outcome write_free(std::string_view data) {
    const auto v = simple_attr_parse(data, prof());
    if (!v.ok()) return {{v.err, 0}, {}, false, 0, false};
    auto out = free(v.val);
    out.write = simple_attr_written(data, out.write.err);
    return out;
  }

  /// cma_alloc_write(data, val): the handler once the value is parsed.
  debugfs_alloc_outcome alloc(std::uint64_t val, const busy_oracle& busy = {}) {
    debugfs_alloc_outcome out;
    out.pages = as_int(val);
    const page_count count = widen(out.pages);
    out.alloc = area_->alloc(count, 0, busy, /*no_warn=*/false);
    if (!out.alloc->ok()) {
      out.write = {enomem, 0};
      return out;
    }
    mem_.push_front({out.alloc->pfn, count}); // hlist_add_head
    return out;
  }

  /// cma_free_write(data, val): the handler once the value is parsed.
  debugfs_free_outcome free(std::uint64_t val) {
    debugfs_free_outcome out;
    out.parsed = true;
    out.pages = as_int(val);
    std::int32_t count = out.pages;
    while (count != 0) {
      if (mem_.empty()) break;
      cma_mem m = mem_.front();
      mem_.pop_front();
      const page_count want = widen(count); // int compared with unsigned long
      if (m.n <= want) {
        out.releases.push_back({m.pfn, m.n, area_->release(m.pfn, m.n)});
        count = as_int(want - m.n); // count -= mem->n, back into an int
      } else if (area_->order_per_bit() == 0) {
        out.releases.push_back({m.pfn, want, area_->release(m.pfn, want)});
        m.pfn += want;
        m.n -= want;
        count = 0;
        mem_.push_front(m);
      } else {
        out.partial_refused = true;
        mem_.push_front(m);
        break;
      }
    }
    out.write = {0, 0};
    return out;
  }

  /// The records, head first (the next one `free` takes is front()).
  const std::deque<cma_mem>& mem_head() const noexcept { return mem_; }

  /// The invariants: every record is n > 0 pages inside the area, all of them under set
  /// bits.  False when something else released a record's pages (the kernel would then
  /// free them twice through `free`).
  bool is_valid() const {
    for (const auto& m : mem_)
      if (m.n == 0 || !area_->contains(m.pfn) || !area_->all_used(m.pfn, m.n)) return false;
    return true;
  }

private:
  static std::int32_t as_int(std::uint64_t v) noexcept { // `int pages = val` (gcc, two's complement)
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  }
  static page_count widen(std::int32_t v) noexcept { // int → unsigned long, sign-extended
    return static_cast<page_count>(static_cast<std::int64_t>(v));
  }
  static std::string range_dir(unsigned r) { return "ranges/" + std::to_string(r); } // snprintf "%d"

  // "ranges/N" or "ranges/N/leaf" → (N, leaf); (nullopt, "") when not one of this area's ranges.
  std::pair<std::optional<unsigned>, std::string_view> split_range_path(std::string_view path) const {
    constexpr std::string_view pre = "ranges/";
    if (path.substr(0, pre.size()) != pre) return {std::nullopt, {}};
    path.remove_prefix(pre.size());
    const auto slash = path.find('/');
    const std::string_view num = path.substr(0, slash);
    unsigned r = 0;
    const auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), r);
    if (ec != std::errc{} || p != num.data() + num.size() || num.empty() || std::to_string(r) != num ||
        r >= area_->ranges().size())
      return {std::nullopt, {}};
    if (slash == std::string_view::npos) return {r, {}};
    return {r, path.substr(slash + 1)};
  }

  Area* area_;
  std::deque<cma_mem> mem_; ///< cma->mem_head, head first
};

} // namespace cma::device
