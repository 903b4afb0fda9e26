// cma/device/cma_test_device.hpp — /dev/cma_test, kmod/cma_test.c's misc device, in-process.
//
// Models kmod/cma_test.c (our own GPL-2.0 module; its behaviour is the spec, its log format
// kmod/FORMAT.md v1) on top of the DMA layer (cma/dma/):
//   write  ct_write → run_command: at most CMD_MAX (64) bytes, one optional trailing '\n',
//          printable ASCII or tab only (else -EINVAL); words split on blanks (strsep " \t",
//          empty words skipped), at most two (else -EINVAL).  Commands: `<N>` (legacy, N MiB,
//          always dma_alloc_coherent), `alloc <bytes>[KMG]`, `allocp <pages>`, `free [id]`,
//          `freeidx <k>` (k mod the number live), `freeall`, `mode coherent|pages`,
//          `nowarn 0|1`, `hog <pages>`, `unhog`, `list`.  Numbers: strict unsigned decimal
//          (-EINVAL for anything else, -ERANGE on u64 overflow, and on `<N> << 20`, `<K> << 12`
//          or a suffix shift overflowing).  A request of 0 bytes or beyond cma_size (RAM when no
//          area was given) is -EINVAL; max_live allocations held is -ENOSPC; `free`/`freeidx`
//          with nothing live or an unknown id is -ENOENT; a `hog` that kept nothing is -EAGAIN.
//          Every refused write logs `cma_test: v1 op=reject err=<e> len=<len>`, except a failed
//          allocation, which logs its own `op=alloc … err=-12` and returns -ENOMEM.
//   read   ct_read: at offset 0 frees the oldest allocation and returns "<id>\n" (cut to the
//          reader's length); nothing live or an offset > 0: 0 bytes.
//   do_alloc  one id per attempt (failed ones included); pages = PAGE_ALIGN(bytes) >> 12,
//          align = min(get_order(bytes), CONFIG_CMA_ALIGNMENT) as the module computes it; the
//          allocation goes through dma_alloc_coherent or dma_alloc_pages (cma::dma) with
//          GFP_KERNEL (| __GFP_NOWARN after `nowarn 1`); cma=1 when [pfn, pfn + pages) lies in
//          [cma_base, cma_base + cma_size).  The list is kept oldest first (list_add_tail).
//   do_free_one  dma_free_coherent / dma_free_pages, then `op=free`.
//   rmmod  unload(): frees everything oldest first, unhogs if pages are held, "unloaded".
//
// The hog page holder.  The module takes pages with alloc_page(GFP_HIGHUSER_MOVABLE) and keeps
// those inside the area (at most min(2048 + 8 * want, 16384) tries), holding them off the LRU:
// alloc_contig_range() cannot migrate them, so every CMA window that covers one is -EBUSY and
// cma_alloc() retries further on.  The held pages are this device's busy oracle for every later
// allocation until `unhog`.  Which pages alloc_page() hands out is the page allocator's business;
// what the real 6.1 / 6.12 kernels do (tests/data/recorded, every op=hog line) is modelled here
// as the zone's per-CPU list of movable pages (mm/page_alloc.c, 6.1 and 6.12):
//   * cma_release() → free_contig_range() frees the buffer page by page, lowest pfn first;
//     free_unref_page() puts a MIGRATE_CMA page on the MOVABLE pcp list, at its head
//     (list_add); so do `unhog`'s __free_page() calls (held pages, oldest first).  7.x frees
//     aligned buddy blocks instead (profile::release_frees_blocks), and the pcp lists are per
//     order: only the buffer's order-0 blocks (odd ends) reach the list — on rand-7.3 the
//     hogs after large frees found nothing there and returned -EAGAIN, as modelled;
//   * alloc_page(GFP_HIGHUSER_MOVABLE) takes the head of that list (__rmqueue_pcplist,
//     list_first_entry): the last page freed comes back first — hog gets the freed buffer's
//     last pages, highest pfn first;
//   * alloc_contig_range() drains every pcp list of the zone — drain_all_pages(cc.zone) right
//     after start_isolate_page_range(), which succeeds on MIGRATE_CMA pageblocks even with held
//     pages in them (mm/page_alloc.c 6.1; alloc_contig_range_noprof in 6.12) — so each
//     cma_alloc() window tried empties the list (the recordings do not tell this apart: each of
//     their hogs follows a free directly; it decides what a hog after an allocation gets);
//   * once the list is empty alloc_page() is served from the buddy lists, which, while free
//     CMA pages are not more than half the zone's free pages (__rmqueue's CMA balancing), give
//     movable pages outside the area: misses.
// Not modelled: pcp trimming at pcp->high (the oldest pages go back to the buddy allocator —
// only a hog asking for more pages than the last ~batch freed could tell), other tasks'
// movable allocations, the CMA-balancing case of a mostly-free zone, single pages freed by
// the page allocator (they go to the UNMOVABLE list and never come back to hog).  The page
// allocator's own pages (one-page requests, CMA failures it serves) have no modelled pfn:
// their `pfn=` comes from cma_test_params::page_allocator_pfn (default 0), cma=0.
//
// Checked (tests/test_cma_test_device.cpp): the 11 real recordings of tests/data/recorded driven
// from their workload files give every step's return code, every `cma_test: v1 …`/`live:` line
// (230 op=hog among them) and every mm/cma.c line of the real dmesg, in order.
//
// Log: every write()/read() returns the kernel's lines in order, without timestamps: mm/cma.c's
// lines for the DMA layer's calls (cma/dma/cma_log.hpp, as the layer's log_options say), then the
// module's `cma_test: …` line(s).  The page allocator's WARN_ON_ONCE (an order > 10 fallback
// without __GFP_NOWARN) is a flag of the result, not a line (its backtrace is not modelled).
//
// Pure: no I/O, no clock, no globals.  The failure line's rate limit (5.14+) needs the time:
// pass now_ns to write()/read() (it is handed to the DMA layer's log_options when the caller
// gave it a printk_ratelimit).  Concurrency is the caller's: the module's mutex serialises
// writers, so one call at a time is the model.
#pragma once

#include "../busy.hpp"
#include "../dma/dma.hpp"
#include "../errno.hpp"
#include "../types.hpp"
#include "file_result.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cma::device {

namespace cma_test_errno { // enoent and erange: file_result.hpp's
inline constexpr int eagain = -11;
inline constexpr int enomem = -12;
inline constexpr int efault = -14;
inline constexpr int einval = -22;
inline constexpr int enospc = -28;
inline constexpr int enobufs = -105;
} // namespace cma_test_errno

/// insmod parameters of kmod/cma_test.c, and what the model needs beyond them.
struct cma_test_params {
  std::uint64_t cma_base = 0;   ///< cma_base= (bytes): the default area's physical base
  std::uint64_t cma_size = 0;   ///< cma_size= (bytes); 0: unknown (every cma= is 0, hog refused)
  unsigned max_live = 4096;     ///< max_live=
  unsigned max_hog = 4096;      ///< max_hog=
  unsigned cma_alignment = 8;   ///< CT_CMA_ALIGNMENT (CONFIG_CMA_ALIGNMENT; Debian 8)
  std::uint64_t totalram_bytes = 0; ///< totalram_pages() << PAGE_SHIFT (the limit when cma_size is 0)
  /// The pfn the page allocator gives a request it serves (not modelled; default 0).
  std::function<pfn_t(std::uint64_t id, page_count pages)> page_allocator_pfn;

  /// The recorder's parameters: the default area from the boot line ("cma: Reserved N MiB at …").
  static cma_test_params for_area(const allocator& area) {
    cma_test_params p;
    p.cma_base = area.base_pfn() << page_shift;
    p.cma_size = area.count() << page_shift;
    return p;
  }
};

/// What one write() or read() did.
struct cma_test_io {
  long ret = 0;                  ///< write: bytes accepted or -errno; read: bytes returned or -errno
  std::string text;              ///< read: the bytes returned ("<id>\n")
  std::vector<std::string> log;  ///< kernel log lines in order ("cma: …", "cma_test: …"), no timestamps
  bool page_allocator_warning = false; ///< alloc_pages' WARN_ON_ONCE fired (order > 10, no NOWARN)
  bool ok() const noexcept { return ret >= 0; }
};

enum class cma_test_mode { coherent, pages };

constexpr std::string_view to_string(cma_test_mode m) noexcept {
  return m == cma_test_mode::pages ? "pages" : "coherent";
}

/// One live allocation (struct ct_alloc).
struct cma_test_alloc {
  std::uint64_t id = 0;
  std::uint64_t bytes = 0;     ///< as requested
  page_count pages = 0;
  pfn_t pfn = 0;               ///< first page (page allocator: params.page_allocator_pfn)
  bool in_cma = false;         ///< cma=1
  bool from_cma = false;       ///< the DMA layer took it from CMA (the pfn is the model's)
  cma_test_mode mode = cma_test_mode::coherent;
};

class cma_test_device {
public:
  /// The module loaded on the kernel whose DMA layer is `L` (kept by reference), with its own
  /// platform device (dma_set_mask_and_coherent(DMA_BIT_MASK(64)), no per-device area).
  explicit cma_test_device(dma::dma_layer& L, cma_test_params p = {},
                           dma::device dev = dma::device::platform(64, "cma_test"))
      : L_(&L), p_(std::move(p)), dev_(std::move(dev)) {}

  /// Parameters from the layer's default area (as the recorder passes them).
  static cma_test_device for_default_area(dma::dma_layer& L) {
    return cma_test_device(L, L.default_area ? cma_test_params::for_area(*L.default_area) : cma_test_params{});
  }

  /// ct_init's line.
  std::string loaded_line() const {
    return "cma_test: loaded: cma_base=0x" + hex(p_.cma_base) + " cma_size=0x" + hex(p_.cma_size) +
           " page_size=4096 cma_alignment=" + std::to_string(p_.cma_alignment);
  }

  /// write(2) of `buf` (its bytes as given: a trailing '\n' counts in len).
  cma_test_io write(std::string_view buf, std::optional<std::uint64_t> now_ns = {}) {
    cma_test_io io;
    set_time(now_ns);
    const std::size_t len = buf.size();
    int ret = 0;
    if (len == 0 || len > cmd_max) {
      ret = cma_test_errno::einval;
    } else {
      std::string_view s = buf;
      if (s.back() == '\n') s.remove_suffix(1);
      for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c != '\t' && (u < 0x20 || u > 0x7e)) {
          ret = cma_test_errno::einval;
          break;
        }
      }
      if (ret == 0) ret = run_command(s, io);
    }
    if (ret != 0 && ret != cma_test_errno::enomem)
      io.log.push_back("cma_test: v1 op=reject err=" + std::to_string(ret) + " len=" + std::to_string(len));
    io.ret = ret != 0 ? ret : static_cast<long>(len);
    return io;
  }

  /// read(2) of up to `len` bytes at file offset `pos` (a fresh open: 0; `cat` reads again at
  /// the offset the first read reached, and gets 0).
  cma_test_io read(std::size_t len = 4096, std::uint64_t pos = 0, std::optional<std::uint64_t> now_ns = {}) {
    cma_test_io io;
    set_time(now_ns);
    if (pos > 0 || allocs_.empty()) return io;
    const std::uint64_t id = allocs_.front().id;
    free_one(allocs_.begin(), io);
    std::string out = std::to_string(id) + "\n";
    if (out.size() > len) out.resize(len);
    io.text = out;
    io.ret = static_cast<long>(out.size());
    return io;
  }

  /// rmmod: every allocation freed (oldest first), held pages given back, "unloaded".
  cma_test_io unload() {
    cma_test_io io;
    free_all(io);
    if (!hogs_.empty()) unhog(io);
    io.log.push_back("cma_test: unloaded");
    return io;
  }

  // ---- state, as `list` shows it
  const std::list<cma_test_alloc>& live() const noexcept { return allocs_; }
  const std::vector<pfn_t>& hogged() const noexcept { return hogs_; }
  const unmovable_pages& busy_pages() const noexcept { return busy_; }
  cma_test_mode mode() const noexcept { return mode_; }
  bool nowarn() const noexcept { return nowarn_; }
  std::uint64_t next_id() const noexcept { return next_id_; }
  const cma_test_params& params() const noexcept { return p_; }
  /// The modelled MOVABLE pcp list of area pages, head last.
  const std::vector<pfn_t>& pcp_movable() const noexcept { return pcp_; }

private:
  static constexpr std::size_t cmd_max = 64;
  static constexpr std::uint64_t u64_max = ~std::uint64_t{0};

  static std::string hex(std::uint64_t v) { return dma::detail::hex_lower(v); }

  void set_time(std::optional<std::uint64_t> now_ns) {
    if (now_ns) L_->log.now_ns = *now_ns;
  }

  bool range_in_cma(pfn_t pfn, page_count pages) const {
    if (p_.cma_size == 0) return false;
    const std::uint64_t start = pfn << page_shift; // u64 arithmetic, as the module's
    const std::uint64_t end = start + (pages << page_shift);
    return start >= p_.cma_base && end <= p_.cma_base + p_.cma_size;
  }

  std::uint64_t max_request_bytes() const { return p_.cma_size ? p_.cma_size : p_.totalram_bytes; }

  /// parse_u64: digits only; -EINVAL, -ERANGE on overflow.
  static int parse_u64(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return cma_test_errno::einval;
    std::uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return cma_test_errno::einval;
      if (__builtin_mul_overflow(v, std::uint64_t{10}, &v) ||
          __builtin_add_overflow(v, static_cast<std::uint64_t>(c - '0'), &v))
        return erange;
    }
    out = v;
    return 0;
  }

  /// parse_size: <digits>[K|M|G], case-insensitive, powers of 1024.
  static int parse_size(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return cma_test_errno::einval;
    unsigned shift = 0;
    switch (s.back()) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    default: break;
    }
    if (shift) s.remove_suffix(1);
    std::uint64_t v = 0;
    if (int r = parse_u64(s, v)) return r;
    if (shift && v > (u64_max >> shift)) return erange;
    out = v << shift;
    return 0;
  }

  /// split_words(buf, w, 2): blanks (space, tab) separate; -EINVAL for a third word.
  static int split_words(std::string_view s, std::string_view (&w)[2]) {
    int n = 0;
    std::size_t i = 0;
    while (i <= s.size()) {
      std::size_t j = s.find_first_of(" \t", i);
      if (j == std::string_view::npos) j = s.size();
      if (j > i) {
        if (n == 2) return cma_test_errno::einval;
        w[n++] = s.substr(i, j - i);
      }
      i = j + 1;
    }
    return n;
  }

  int run_command(std::string_view buf, cma_test_io& io) {
    using namespace cma_test_errno;
    std::string_view w[2];
    const int n = split_words(buf, w);
    if (n <= 0) return einval;
    std::uint64_t v = 0;
    int ret = 0;
    if (n == 1 && w[0][0] >= '0' && w[0][0] <= '9') { // legacy: N MiB
      if ((ret = parse_u64(w[0], v))) return ret;
      if (v > (u64_max >> 20)) return erange;
      return checked_alloc(v << 20, cma_test_mode::coherent, io);
    }
    if (w[0] == "alloc" && n == 2) {
      if ((ret = parse_size(w[1], v))) return ret;
      return checked_alloc(v, mode_, io);
    }
    if (w[0] == "allocp" && n == 2) {
      if ((ret = parse_u64(w[1], v))) return ret;
      if (v > (u64_max >> page_shift)) return erange;
      return checked_alloc(v << page_shift, mode_, io);
    }
    if (w[0] == "free") {
      if (n == 1) {
        if (allocs_.empty()) return enoent;
        free_one(allocs_.begin(), io);
        return 0;
      }
      if ((ret = parse_u64(w[1], v))) return ret;
      auto it = std::find_if(allocs_.begin(), allocs_.end(), [&](const cma_test_alloc& a) { return a.id == v; });
      if (it == allocs_.end()) return enoent;
      free_one(it, io);
      return 0;
    }
    if (w[0] == "freeidx" && n == 2) {
      if ((ret = parse_u64(w[1], v))) return ret;
      if (allocs_.empty()) return enoent;
      auto it = allocs_.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(v % allocs_.size()));
      free_one(it, io);
      return 0;
    }
    if (w[0] == "freeall" && n == 1) {
      free_all(io);
      return 0;
    }
    if (w[0] == "mode" && n == 2) {
      if (w[1] == "coherent") mode_ = cma_test_mode::coherent;
      else if (w[1] == "pages") mode_ = cma_test_mode::pages;
      else return einval;
      io.log.push_back("cma_test: v1 op=mode value=" + std::string(to_string(mode_)));
      return 0;
    }
    if (w[0] == "nowarn" && n == 2) {
      if (w[1] == "0") nowarn_ = false;
      else if (w[1] == "1") nowarn_ = true;
      else return einval;
      io.log.push_back(std::string("cma_test: v1 op=nowarn value=") + (nowarn_ ? "1" : "0"));
      return 0;
    }
    if (w[0] == "hog" && n == 2) {
      if ((ret = parse_u64(w[1], v))) return ret;
      if (!p_.cma_size || v == 0 || v > std::uint64_t{p_.max_hog} - hogs_.size() || v > (p_.cma_size >> page_shift))
        return einval;
      return do_hog(v, io);
    }
    if (w[0] == "unhog" && n == 1) {
      unhog(io);
      return 0;
    }
    if (w[0] == "list" && n == 1) {
      list(io);
      return 0;
    }
    return einval;
  }

  int checked_alloc(std::uint64_t bytes, cma_test_mode mode, cma_test_io& io) {
    if (bytes == 0 || bytes > max_request_bytes()) return cma_test_errno::einval;
    if (allocs_.size() >= p_.max_live) return cma_test_errno::enospc;
    return do_alloc(bytes, mode, io);
  }

  int do_alloc(std::uint64_t bytes, cma_test_mode mode, cma_test_io& io) {
    cma_test_alloc a;
    a.id = next_id_++;
    a.bytes = bytes;
    a.pages = dma::size_to_pages(bytes);
    a.mode = mode;
    const unsigned align = std::min(dma::get_order(bytes), p_.cma_alignment);
    const dma::gfp_flags gfp{true, nowarn_};
    auto res = mode == cma_test_mode::pages ? dma::dma_alloc_pages(*L_, dev_, bytes, gfp, busy_.oracle())
                                            : dma::dma_alloc_coherent(*L_, dev_, bytes, gfp, busy_.oracle());
    io.log.insert(io.log.end(), res.log.begin(), res.log.end());
    io.page_allocator_warning = res.page_allocator_warning && !warned_;
    warned_ = warned_ || res.page_allocator_warning;
    // the per-CPU lists: every window alloc_contig_range() tried drained them; pages the
    // coherent-mask check gave back were freed onto them.
    if (res.cma) {
      if (!res.cma->result.attempts.empty()) pcp_.clear();
      if (res.cma->released) push_freed(res.cma->result.pfn, res.cma->count);
    }
    const int err = res.ok() ? 0 : cma_test_errno::enomem;
    if (!err) {
      a.from_cma = res.from_cma();
      a.pfn = a.from_cma ? *res.pfn : (p_.page_allocator_pfn ? p_.page_allocator_pfn(a.id, a.pages) : 0);
      a.in_cma = range_in_cma(a.pfn, a.pages);
    }
    io.log.push_back("cma_test: v1 op=alloc id=" + std::to_string(a.id) + " bytes=" + std::to_string(bytes) +
                     " pages=" + std::to_string(a.pages) + " align=" + std::to_string(align) + " pfn=0x" +
                     hex(err ? 0 : a.pfn) + " cma=" + (a.in_cma ? "1" : "0") + " mode=" +
                     std::string(to_string(mode)) + " err=" + std::to_string(err));
    if (err) return err;
    allocs_.push_back(a);
    return 0;
  }

  void free_one(std::list<cma_test_alloc>::iterator it, cma_test_io& io) {
    const cma_test_alloc a = *it;
    auto f = a.mode == cma_test_mode::pages
                 ? dma::dma_free_pages(*L_, dev_, a.bytes, a.from_cma ? std::optional<pfn_t>(a.pfn) : std::nullopt)
                 : dma::dma_free_coherent(*L_, dev_, a.bytes, a.from_cma ? std::optional<pfn_t>(a.pfn) : std::nullopt);
    io.log.insert(io.log.end(), f.log.begin(), f.log.end());
    if (f.path == dma::free_path::cma) push_freed(a.pfn, f.count);
    io.log.push_back("cma_test: v1 op=free id=" + std::to_string(a.id) + " pages=" + std::to_string(a.pages) +
                     " pfn=0x" + hex(a.pfn) + " cma=" + (a.in_cma ? "1" : "0"));
    allocs_.erase(it);
  }

  void free_all(cma_test_io& io) {
    while (!allocs_.empty()) free_one(allocs_.begin(), io);
  }

  /// free_contig_range(): page by page, lowest first, each onto the head of the MOVABLE pcp list.
  /// 7.0+ (profile::release_frees_blocks): aligned blocks, lowest first; a block of order > 0
  /// goes to another pcp list or to the buddy lists, where alloc_page() does not find it first.
  void push_freed(pfn_t pfn, page_count count) {
    const bool blocks = L_->default_area && L_->default_area->prof().release_frees_blocks;
    while (count != 0) {
      unsigned order = 0;
      if (blocks) {
        order = pfn ? static_cast<unsigned>(std::countr_zero(pfn)) : 10U;
        order = std::min({order, static_cast<unsigned>(std::bit_width(count) - 1), 10U});
      }
      if (order == 0 && range_in_cma(pfn, 1)) pcp_.push_back(pfn);
      pfn += pfn_t{1} << order;
      count -= page_count{1} << order;
    }
  }

  int do_hog(std::uint64_t want, cma_test_io& io) {
    const std::uint64_t max_tries = std::min<std::uint64_t>(2048 + 8 * want, 16384);
    std::uint64_t kept = 0;
    for (std::uint64_t tries = 0; tries < max_tries && kept < want; ++tries) {
      if (pcp_.empty()) continue; // a movable page from outside the area: a miss, freed at the end
      const pfn_t pfn = pcp_.back();
      pcp_.pop_back();
      hogs_.push_back(pfn);
      busy_.add(pfn);
      ++kept;
      io.log.push_back("cma_test: v1 op=hog pfn=0x" + hex(pfn));
    }
    return kept ? 0 : cma_test_errno::eagain;
  }

  void unhog(cma_test_io& io) {
    const std::size_t n = hogs_.size();
    for (pfn_t pfn : hogs_) { // __free_page, oldest first: the last held ends at the head
      busy_.remove(pfn);
      pcp_.push_back(pfn);
    }
    hogs_.clear();
    io.log.push_back("cma_test: v1 op=unhog pages=" + std::to_string(n));
  }

  void list(cma_test_io& io) const {
    unsigned k = 0;
    for (const auto& a : allocs_)
      io.log.push_back("cma_test: live: idx=" + std::to_string(k++) + " id=" + std::to_string(a.id) +
                       " bytes=" + std::to_string(a.bytes) + " pages=" + std::to_string(a.pages) + " pfn=0x" +
                       hex(a.pfn) + " cma=" + (a.in_cma ? "1" : "0") + " mode=" + std::string(to_string(a.mode)));
    io.log.push_back("cma_test: live: total=" + std::to_string(allocs_.size()) + " hogged=" +
                     std::to_string(hogs_.size()) + " mode=" + std::string(to_string(mode_)) +
                     " nowarn=" + (nowarn_ ? "1" : "0"));
  }

  dma::dma_layer* L_;
  cma_test_params p_;
  dma::device dev_;
  std::list<cma_test_alloc> allocs_; ///< ct_allocs, oldest first
  std::uint64_t next_id_ = 0;
  cma_test_mode mode_ = cma_test_mode::coherent;
  bool nowarn_ = false;
  bool warned_ = false;              ///< alloc_pages' WARN_ON_ONCE already fired this boot
  std::vector<pfn_t> hogs_;          ///< ct_hogs, oldest first
  unmovable_pages busy_;             ///< the held pages inside the area
  std::vector<pfn_t> pcp_;           ///< MOVABLE pcp list of area pages, head last
};

} // namespace cma::device
