// cma/replay/boot_facts.hpp — settling the kernel and the area from what the boot lines say.
//
// Before anything is replayed the replay needs a kernel series (its rules: profile.hpp)
// and an area.  In order of precedence:
//   kernel: --kernel, the "Linux version" banner, BOOT_IMAGE=…vmlinuz-<version> on the
//           command line, else 6.1 (said so);
//   area:   --area (the first one), the "cma: Reserved N MiB at …" line that is neither a
//           hugetlb area's nor a node's (node_areas.hpp: the order of the lines per version),
//           else the boot model (boot/boot.hpp) from the command line and the RAM size of the
//           Memory: line;
//   nodes:  the other plain Reserved lines are the per-node areas pernuma<N> / numa<N>
//           (node_areas.hpp), order_per_bit 0;
//   others: every hugetlb area the log declares: a "cma: Reserved N MiB at …" (or 6.15+
//           "… in R range", no address) line followed by "hugetlb_cma: reserved N MiB on
//           node K" is the area hugetlb<K> (mm/hugetlb.c ≤6.14, mm/hugetlb_cma.c 6.15+:
//           cma_declare_contiguous_nid / _multi with the name "hugetlb%d"), order_per_bit
//           HUGETLB_PAGE_ORDER (9 with 4 KiB pages).  On 6.1 and 6.12 arm64 it is reserved
//           before the default area, on 7.x after, so "the first Reserved line" is not
//           enough.  One without an address is placed where its first traced allocation
//           landed (said so, and its first operation is checked against nothing else).
//           A further --area (replay_options::more_areas) of the same name replaces it
//           (replayer.hpp).
//   DT:     every device-tree CMA pool: "Reserved memory: created CMA memory pool at %pa, size
//           %ld MiB" followed by "OF: reserved mem: initialized node %s, compatible id
//           shared-dma-pool" (drivers/of/of_reserved_mem.c prints the second after the node's
//           setup, kernel/dma/contiguous.c rmem_cma_setup the first) is an area named after the
//           node: rmem_cma_setup hands rmem->name to cma_init_reserved_mem, so the trace's name=
//           and 6.6+ pr_debug "name:" print that string; order_per_bit 0.  A "created DMA memory
//           pool" (kernel/dma/coherent.c: not reusable) is not CMA.  Without a default area
//           (no "cma: Reserved" line, no --area) the pool that carries linux,cma-default is the
//           default one, taking the events that name no area (4.x traces, pre-6.6 pr_debug).
//           The log does not print the property: the pool whose node is "linux,cma" (the name
//           device trees give that node) is taken, else the first pool (said so).
// An area the kernel could not have had (cma_init_reserved_mem.hpp: a bitmap past
// kmalloc's limit, a size that overflows) is refused with the reason, never allocated.
// The first of each kind of line counts; a second banner means two boots were
// concatenated, which is said (only the first boot's area is modelled).
// Pure: takes events, returns facts and notes.
#pragma once

#include "../allocator.hpp"
#include "../boot/boot.hpp"
#include "../cma_init_reserved_mem.hpp"
#include "../formats/event.hpp"
#include "../profile.hpp"
#include "node_areas.hpp"
#include "options.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cma::replay_detail {

/// An area a boot line declared.
struct declared_area {
  std::string name;                 ///< "" until a later line names it (hugetlb<N>); then the default area
  std::optional<std::uint64_t> base; ///< bytes; none for 6.15+ "Reserved N MiB in R range"
  std::uint64_t mib = 0;
  unsigned order_per_bit = 0;
  ev::source where;
  std::optional<int> node;          ///< "… on node N" (6.4 – 6.14)
  bool per_node = false;            ///< named by settle_default() as a pernuma<N>/numa<N> area
};

/// A device-tree CMA pool (kernel/dma/contiguous.c rmem_cma_setup), named after its node.
struct dt_pool {
  std::string name;       ///< rmem->name, as "initialized node %s" prints it
  std::uint64_t base = 0; ///< bytes
  std::uint64_t mib = 0;
  ev::source where;       ///< the "created CMA memory pool" line
};

/// A boot line's "N MiB" in bytes, saturating: a size past 2^64 bytes is refused by
/// make_area (cma_init_reserved_mem.hpp) with the kernel's reason, not wrapped.
inline std::uint64_t mib_bytes(std::uint64_t mib) {
  return mib >= (std::uint64_t{1} << 44) ? ~std::uint64_t{0} : mib << 20;
}

/// HUGETLB_PAGE_ORDER with 4 KiB pages (arm64 and x86: PMD_SHIFT - PAGE_SHIFT).
inline constexpr unsigned hugetlb_page_order = 9;

struct boot_facts {
  /// No kernel declares more areas than MAX_CMA_AREAS (CONFIG_CMA_AREAS, ≤ 20 in Debian's
  /// builds; the Kconfig allows 2–4095 only with a custom build): the Reserved lines after the
  /// 64th are counted, not kept, so a log that repeats them cannot grow the areas or the
  /// time to name them (each line renames them all).
  static constexpr std::size_t max_declared = boot_facts_max_declared;
  std::uint64_t declared_dropped = 0;
  std::optional<ev::banner> banner;
  std::optional<ev::source> second_banner;   ///< another boot's banner (logs concatenated)
  std::optional<ev::reserved> reserved;      ///< the default area's line (the first not a hugetlb area's)
  std::vector<declared_area> declared;       ///< every area line, in order
  std::vector<dt_pool> dt_pools;             ///< every device-tree CMA pool, in order
  std::optional<kernel_version> from_image; ///< "BOOT_IMAGE=/boot/vmlinuz-4.15.0…" when there is no banner
  std::optional<std::string> cmdline;
  std::vector<std::string> unknown_cma_params; ///< CMA options the kernel did not know (not built in)
  std::optional<std::uint64_t> ram_kb;
  bool boot_seen = false, failed_reserve = false;
  /// The series whose reservation order names the per-node areas: the banner's, or the one
  /// the replay settled on (set_kernel); 6.1 until either is known.
  kernel_version kernel{6, 1, 0};

  static std::optional<kernel_version> image_version(std::string_view name);

  void add(const ev::located& e) {
    if (auto c = std::get_if<ev::command_line>(&e.what)) {
      if (!cmdline) {
        cmdline = c->text;
        settle_default(); // `cma=0` and `cma_pernuma=` name the lines printed before it
      }
      if (!from_image)
        if (auto i = c->text.find("vmlinuz-"); i != std::string::npos) from_image = image_version(c->text.substr(i + 8));
      boot_seen = true;
    } else if (auto u = std::get_if<ev::unknown_params>(&e.what)) {
      for (const auto& w : split_cmdline(u->words))
        if (w.name.find("cma") != std::string::npos) unknown_cma_params.push_back(w.name + (w.value ? "=" + *w.value : ""));
    } else if (auto m = std::get_if<ev::memory_line>(&e.what); m && m->total_kb && !ram_kb) {
      ram_kb = m->total_kb;
    } else if (std::holds_alternative<ev::reserve_failed>(e.what)) {
      failed_reserve = boot_seen = true;
    } else if (auto b = std::get_if<ev::banner>(&e.what)) {
      if (!banner) {
        banner = *b;
        kernel = b->version;
      }
      else if (!second_banner) second_banner = e.where;
      boot_seen = true;
    } else if (auto r = std::get_if<ev::reserved>(&e.what)) {
      if (second_banner) {
      } else if (declared.size() < max_declared) {
        declared.push_back({"", r->base, r->mib, 0, e.where, r->node});
        settle_default();
      } else {
        ++declared_dropped;
      }
      boot_seen = true;
    } else if (auto rr = std::get_if<ev::reserved_ranges>(&e.what)) {
      if (second_banner) {
      } else if (declared.size() < max_declared) {
        declared.push_back({"", std::nullopt, rr->mib, 0, e.where, std::nullopt});
      } else {
        ++declared_dropped;
      }
      boot_seen = true;
    } else if (auto p = std::get_if<ev::rmem_pool>(&e.what)) {
      pending_pool_ = dt_pool{"", p->base, p->mib, e.where}; // named by the "initialized node" line after it
      boot_seen = true;
    } else if (auto n = std::get_if<ev::rmem_note>(&e.what)) {
      if (n->what == ev::rmem_note::kind::dma_pool) pending_pool_.reset(); // the next node is a plain DMA pool
    } else if (auto i = std::get_if<ev::rmem_initialized>(&e.what)) {
      if (pending_pool_ && i->compatible == "shared-dma-pool" && !second_banner) {
        pending_pool_->name = i->name;
        dt_pools.push_back(std::move(*pending_pool_));
      }
      pending_pool_.reset();
    } else if (auto h = std::get_if<ev::hugetlb_cma_reserved>(&e.what)) {
      // names the area declared just before it (hugetlb_cma_reserve: declare, then print)
      if (!declared.empty() && (declared.back().name.empty() || declared.back().per_node) &&
          declared.back().mib == h->mib) {
        declared.back().per_node = false;
        declared.back().name = "hugetlb" + std::to_string(h->node);
        declared.back().order_per_bit = hugetlb_page_order;
        settle_default();
      }
    }
  }
  /// The DT pool that stands for the default area (none without pools), and whether the log
  /// named it (the node "linux,cma") or it is only the first pool.
  std::optional<std::pair<std::size_t, bool>> default_dt_pool() const {
    if (dt_pools.empty()) return std::nullopt;
    for (std::size_t i = 0; i < dt_pools.size(); ++i)
      if (dt_pools[i].name == "linux,cma") return std::pair{i, true};
    return std::pair{std::size_t{0}, false};
  }
  /// The hugetlb areas declared (named), in order.
  std::vector<declared_area> hugetlb_areas() const {
    std::vector<declared_area> out;
    for (const auto& d : declared)
      if (d.name.rfind("hugetlb", 0) == 0) out.push_back(d);
    return out;
  }
  /// The per-node DMA areas declared (pernuma<N>, numa<N>), in order.
  std::vector<declared_area> per_node_areas() const {
    std::vector<declared_area> out;
    for (const auto& d : declared)
      if (d.per_node) out.push_back(d);
    return out;
  }
  /// The series the replay models when it is not the banner's (--kernel): the order of the
  /// per-node areas' lines depends on it.
  void set_kernel(const kernel_version& kv) {
    kernel = kv;
    settle_default();
  }

private:
  std::optional<dt_pool> pending_pool_; ///< a "created CMA memory pool" line not yet named

  // The default area and the per-node areas among the Reserved lines with an address that no
  // hugetlb line claimed: node_areas.hpp names them.  (Until the line after it is read a
  // hugetlb area's line looks like a plain one; a streamed replay starts later than that: at
  // the first trace operation.)
  void settle_default() {
    reserved.reset();
    std::vector<std::size_t> plain;
    std::vector<std::optional<int>> nodes;
    for (std::size_t i = 0; i < declared.size(); ++i) {
      auto& d = declared[i];
      if (d.per_node) d.name.clear(), d.per_node = false;
      if (d.name.empty() && d.base) plain.push_back(i), nodes.push_back(d.node);
    }
    const auto naming = name_reserved_lines(nodes, kernel, cmdline ? parse_early_cma_params(*cmdline, kernel) : early_cma_params{});
    for (std::size_t k = 0; k < plain.size(); ++k) {
      auto& d = declared[plain[k]];
      if (naming.default_index == k) reserved = ev::reserved{d.mib, *d.base, d.node};
      else d.name = naming.names[k], d.per_node = true;
    }
  }

public:
};

// The version at the start of an image name: "4.15.0CMA20190430" (a CONFIG_LOCALVERSION
// is appended as is, so it may follow the digits without a separator) is 4.15.0.
inline std::optional<kernel_version> boot_facts::image_version(std::string_view name) {
  const auto end = name.find_first_not_of("0123456789.");
  auto v = name.substr(0, end);
  while (!v.empty() && v.back() == '.') v.remove_suffix(1);
  return kernel_version::parse(v);
}

template <class Events>
boot_facts gather_boot(const Events& events) {
  boot_facts f;
  for (const auto& e : events) f.add(e);
  return f;
}

/// The kernel series to model and whether the log starts mid-stream, with the notes
/// that say where each came from.
struct kernel_choice {
  profile prof = profile::for_version(kernel_version{6, 1, 0});
  bool assumed = false;
  bool mid_stream = false;
  std::string release;
  std::vector<std::string> notes;
};

inline kernel_choice settle_kernel(const boot_facts& f, const replay_options& opt, bool overrun) {
  kernel_choice k;
  std::optional<kernel_version> v;
  if (opt.kernel) {
    v = *opt.kernel;
    if (f.banner && !(f.banner->version == *opt.kernel))
      k.notes.push_back("--kernel " + opt.kernel->str() + " overrides the banner's " + f.banner->release);
  } else if (f.banner) {
    v = f.banner->version;
  } else if (f.from_image) {
    v = *f.from_image;
    k.notes.push_back("kernel version " + f.from_image->str() + " taken from the command line's BOOT_IMAGE (no banner)");
  } else {
    k.assumed = true;
    k.notes.push_back("no 'Linux version' banner and no --kernel: assumed 6.1");
  }
  if (v) {
    k.prof = profile::for_version(*v);
    if (auto older = profile::older_than_modelled_note(*v)) k.notes.push_back(*older);
  }
  if (f.banner) k.release = f.banner->release;
  if (f.second_banner)
    k.notes.push_back("a second 'Linux version' banner at input " + std::to_string(f.second_banner->file) + " line " +
                      std::to_string(f.second_banner->line) +
                      ": two boots concatenated; the area is the first boot's and is not reset there (split the log at that line)");
  k.mid_stream = opt.mid_stream || overrun || !f.boot_seen;
  if (overrun) k.notes.push_back("the trace ring buffer overran: the trace starts mid-stream");
  else if (!f.boot_seen && !opt.mid_stream) k.notes.push_back("no boot lines: the log is treated as starting mid-stream");
  return k;
}

/// The area to replay against, where it came from, and what was assumed.
struct area_choice {
  std::optional<allocator> area;
  std::string source;
  std::vector<std::string> notes;
};

// Builds the area unless the kernel could not have had it (then says why).
inline void make_area(area_choice& c, const std::string& name, std::uint64_t base, std::uint64_t size, unsigned order_per_bit,
                      const profile& prof, std::string source) {
  if (auto why = area_refusal(base, size, order_per_bit)) {
    c.notes.push_back("area " + name + " from " + source + " refused: " + *why);
    c.source = "refused";
    return;
  }
  c.area.emplace(name, memrange_spec{base >> page_shift, size >> page_shift}, order_per_bit, prof);
  c.source = std::move(source);
}

// No "cma: Reserved" line, but the command line and the RAM size: where the kernel
// would have put the area (boot.hpp), and the DMA pools it takes at boot unless the
// log shows them being allocated (`logged(count)`: an allocation of that many pages).
inline void place_from_boot_model(area_choice& c, const boot_facts& f, const profile& prof,
                                  const std::function<bool(page_count)>& logged) {
  boot_config cfg;
  cfg.kernel = prof.version;
  const auto& banner = f.banner;
  if (banner && (banner->release.find("amd64") != std::string::npos || banner->release.find("x86") != std::string::npos))
    cfg.a = arch::x86_64;
  cfg.ram_size = *f.ram_kb * 1024;
  cfg.cmdline = *f.cmdline;
  const auto b = simulate_boot(cfg);
  for (const auto& ar : b.areas) {
    if (!ar.is_default || !ar.decl.ok()) continue;
    make_area(c, "reserved", ar.decl.base_pfn() << page_shift, ar.decl.count() << page_shift, 0, prof,
              "boot model (command line + RAM size)");
    if (!c.area) return;
    c.notes.push_back("no 'cma: Reserved' line: area placed by the boot model from the command line and " +
                      std::to_string(*f.ram_kb / 1024) + " MiB of RAM");
    for (const auto& a : b.assumed) c.notes.push_back("boot model assumed: " + a);
    const bool pools_logged = !ar.pools.empty() && logged(ar.pools[0].request.count);
    if (!pools_logged)
      for (const auto& p : ar.pools)
        if (p.pfn != no_pfn) {
          c.area->mark_allocated(p.pfn, p.request.count);
          c.notes.push_back("boot-time " + p.request.gfp + " pool assumed at pfn " + std::to_string(p.pfn) + " (" +
                            std::to_string(p.request.count) + " pages)");
        }
    return;
  }
}

inline area_choice place_area(const boot_facts& f, const replay_options& opt, const profile& prof,
                              const std::function<bool(page_count)>& logged) {
  area_choice c;
  if (opt.area) {
    const auto& a = *opt.area;
    make_area(c, a.name, a.base, a.size, a.order_per_bit, prof, "--area");
  } else if (f.reserved) {
    // dma_contiguous_reserve names the global area "reserved"; order_per_bit is 0 (KERNEL-FACTS §5.2).
    // A MiB count whose byte size overflows 64 bits is refused like any impossible size.
    const auto& r = *f.reserved;
    const std::uint64_t size = mib_bytes(r.mib);
    make_area(c, "reserved", r.base, size, 0u, prof, "boot log");
  } else if (const auto d = f.default_dt_pool()) {
    // A device-tree pool is the default area (above): its node's name, order_per_bit 0.
    const auto& p = f.dt_pools[d->first];
    const std::uint64_t size = mib_bytes(p.mib);
    make_area(c, p.name, p.base, size, 0u, prof, "device tree (Reserved memory: created CMA memory pool)");
    if (c.area && !d->second)
      c.notes.push_back("no 'cma: Reserved' line: the device-tree pool " + p.name + " is taken as the default area (the log " +
                        "does not say which pool carries linux,cma-default; none is named linux,cma): operations that "
                        "name no area are replayed on it");
  } else if (f.cmdline && f.ram_kb && !f.failed_reserve) {
    place_from_boot_model(c, f, prof, logged);
  }
  return c;
}

} // namespace cma::replay_detail
