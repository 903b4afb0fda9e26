// cma/formats/event.hpp — what a kernel log or trace says happened, format-independent.
//
// The formats (include/cma/formats/) turn text into these; the replay
// (replay.hpp) is the only place where they meet the model.  Each event keeps
// the fields its source line printed — nothing inferred.  Hashed `%p` pointers
// are kept as text tokens: they are per-boot identities that pair a
// pr_debug "returned %p" with a later "cma_release(page %p…)".
#pragma once

#include "../kernel_version.hpp"
#include "../types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace cma::ev {

// ---- include/trace/events/cma.h -------------------------------------------
struct alloc_start {            ///< cma_alloc_start (5.14+)
  std::string name;
  page_count count = 0;
  unsigned align = 0;
  std::optional<page_count> available; ///< 6.18+ available_count=
  std::optional<page_count> total;     ///< 6.18+ total_count=
  int pid = -1;                 ///< the tracing task (ftrace's "<comm>-<pid>"), -1 when not shown
};
struct alloc_finish {           ///< cma_alloc_finish (5.14+) and 4.x cma_alloc
  std::optional<std::string> name; ///< absent in the 4.x legacy event
  pfn_t pfn = no_pfn;
  std::uint64_t page = 0;       ///< hashed pointer, as a number; 0 on failure
  page_count count = 0;
  unsigned align = 0;
  std::optional<int> errorno;   ///< 6.3+
  bool legacy = false;          ///< the 4.x `cma_alloc:` event (no start event precedes it)
  int pid = -1;                 ///< the tracing task, -1 when not shown
};
struct busy_retry {             ///< cma_alloc_busy_retry
  std::string name;
  pfn_t pfn = 0;
  std::uint64_t page = 0;
  page_count count = 0;
  unsigned align = 0;
  int pid = -1;                 ///< the tracing task, -1 when not shown
};
struct release {                ///< cma_release
  std::optional<std::string> name;
  pfn_t pfn = 0;
  std::uint64_t page = 0;
  page_count count = 0;
};
struct step_marker {            ///< tracing_mark_write: step N: <cmd>  (recorder markers)
  unsigned n = 0;
  std::string cmd;
};

// ---- mm/cma.c pr_debug / pr_err ---------------------------------------------
struct alloc_call {             ///< "cma_alloc(cma %p[, name: %s], count %lu, align %d)"
  std::string func;
  std::string cma_token;
  std::optional<std::string> name;
  page_count count = 0;
  unsigned align = 0;
};
struct alloc_returned {         ///< "cma_alloc(): returned %p"
  std::string func;
  std::string page_token;       ///< "0000000000000000" / "(null)" when it failed
  bool null() const noexcept {
    return page_token == "(null)" || page_token.find_first_not_of('0') == std::string::npos;
  }
};
struct busy_debug {             ///< "cma_alloc(): memory range at [pfn 0x%lx ]%p is busy, retrying"
  std::string func;
  std::string page_token;
  std::optional<pfn_t> pfn;     ///< 6.6+
};
struct release_debug {          ///< "cma_release(page %p[, count %lu])"
  std::string page_token;
  std::optional<page_count> count;
};
struct pages_invalid {          ///< "cma_pages_valid(page %p, count %lu)": not in this area
  std::string page_token;
  page_count count = 0;
};
struct alloc_failed {           ///< "cma_alloc: [name: ]alloc failed, req-size: N pages, ret: -E"
  std::string func;
  std::optional<std::string> name;
  page_count count = 0;
  int ret = 0;
};
struct show_areas {             ///< cma_debug_show_areas(): "number of available pages: …=> F free of T total pages"
  struct run { std::uint64_t len = 0; std::uint64_t at = 0; };
  std::vector<run> runs;
  std::uint64_t free = 0;
  std::uint64_t total = 0;
};
struct pfns_busy {              ///< "alloc_contig_range: [%lx, %lx) PFNs busy"
  pfn_t start = 0, end = 0;
};
struct callbacks_suppressed {   ///< "<func>: N callbacks suppressed"
  std::string func;
  std::uint64_t n = 0;
};
struct show_areas_range {       ///< 6.15+ cma_debug_show_areas: "range N: <pages>@<bit>+…" (one range's runs)
  unsigned range = 0;
  std::vector<show_areas::run> runs;
};
struct show_areas_total {       ///< 6.15+ cma_debug_show_areas' last part: "=> F free of T total pages" alone
  std::uint64_t free = 0;
  std::uint64_t total = 0;
};
struct isolation_failed {       ///< 3.x "alloc_contig_range test_pages_isolated(<hex>, <hex>) failed"
  pfn_t start = 0, end = 0;
};
struct incompatible_area {      ///< 6.15+ "<func>: <name>: skipping incompatible area [0x<start>-0x<end>]"
  std::string func, name;
  std::uint64_t start = 0, end = 0;
};
struct driver_failure {         ///< a driver line about a failed contiguous allocation (LOGS-IN-THE-WILD "companion")
  std::string driver;           ///< "vc4", "nvgpu", "dma_alloc_coherent", …
  std::optional<std::uint64_t> bytes; ///< the size it asked for, when the line says
  bool stats = false;           ///< vc4's BO statistics (context, not a failure)
};
struct boot_done {              ///< "Run /init as init process" / "Freeing unused kernel memory…": init runs from here
};
struct page_alloc_warning {     ///< "<comm>: page allocation failure: order:N, …" or "WARNING: … at mm/page_alloc.c…"
  std::optional<unsigned> order;
};

// ---- boot ------------------------------------------------------------------
struct reserved {               ///< "cma: Reserved N MiB at 0x…[ on node N]" (3.x: "CMA: reserved N MiB at HEX")
  std::uint64_t mib = 0;
  std::uint64_t base = 0;
  std::optional<int> node;
};
struct reserved_ranges {        ///< 6.15+ "cma: Reserved N MiB in R range[s]" (cma_declare_contiguous_multi: no address)
  std::uint64_t mib = 0;
  unsigned ranges = 1;
};
struct hugetlb_cma_reserve {    ///< "hugetlb_cma: reserve N MiB, up to M MiB per node" (before the areas)
  std::uint64_t mib = 0;
  std::uint64_t per_node_mib = 0;
};
struct hugetlb_cma_reserved {   ///< "hugetlb_cma: reserved N MiB on node N": the area reserved just before is hugetlb<node>
  std::uint64_t mib = 0;
  int node = 0;
};
struct hugetlb_cma_rejected {   ///< "hugetlb_cma: cma area must be a multiple of N MiB" (and its siblings): nothing reserved
  std::string message;          ///< the text after "hugetlb_cma: "
  std::optional<std::uint64_t> mib; ///< the N MiB it names, if any
};
struct memrange_lookup {        ///< 7.x "find_cma_memrange(page %p, count %lu[, no cma range matches the page range])"
  std::string page_token;
  page_count count = 0;
  bool matched = true;          ///< false: the pages are not in this area (6.x: cma_pages_valid's line)
};
struct reserve_failed {         ///< "cma: Failed to reserve N MiB[ on node N]"
  std::uint64_t mib = 0;
  std::optional<int> node;
};
struct rmem_pool {              ///< "Reserved memory: created CMA memory pool at 0x…, size N MiB"
  std::uint64_t base = 0;
  std::uint64_t mib = 0;
};
struct rmem_reusable {          ///< 6.x "OF: reserved mem: 0x<start>..0x<end> (N KiB) map reusable <name>"
  std::uint64_t base = 0, last = 0; ///< the printed range, its end inclusive
  std::uint64_t kib = 0;
  std::string name;
};
struct rmem_initialized {       ///< "OF: reserved mem: initialized node <name>, compatible id <id>"
  std::string name, compatible;
};
struct rmem_note {              ///< a reserved-memory line saying a CMA node is not used as declared
  enum class kind {
    bypass_dt,           ///< "Reserved memory: bypass linux,cma node, using cmdline CMA params instead"
    incorrect_alignment, ///< "Reserved memory: incorrect alignment of CMA region"
    matching_fail,       ///< "OF: reserved mem: node <name> compatible matching fail"
    node_alloc_failed,   ///< "OF: reserved mem: failed to allocate memory for node '<name>'"
    dma_pool,            ///< "Reserved memory: created DMA memory pool …" (not CMA: not an area)
  } what = kind::bypass_dt;
  std::string name;      ///< the node, when the line names it
};
struct reserve_boundary {       ///< "cma: Region at 0x… defined on low/high memory boundary (0x…)"
  std::uint64_t base = 0, boundary = 0;
};
struct memory_line {            ///< "Memory: …K/…K available (…, NK cma-reserved…)"
  std::uint64_t cma_reserved_kb = 0;
  std::optional<std::uint64_t> total_kb; ///< the second "…K": all RAM the kernel saw
};
struct meminfo {                ///< "CmaTotal:  N kB" / "CmaFree:  N kB"
  bool total = false;           ///< CmaTotal (else CmaFree)
  std::uint64_t kb = 0;
};
struct vmstat {                 ///< /proc/vmstat or zoneinfo counter: nr_free_cma, cma_alloc_success, cma_alloc_fail, cma
  std::string key;
  std::uint64_t value = 0;
};
struct banner {                 ///< "Linux version 6.1.0-56-arm64 …"
  kernel_version version;
  std::string release;
};
struct command_line {           ///< "Kernel command line: …" / "Command line: …"
  std::string text;
};
struct unknown_params {         ///< init/main.c (5.15+): "Unknown kernel command line parameters \"…\", will be passed to user space."
  std::string words;            ///< what is between the quotes
};
struct init_env {               ///< init/main.c run_init_process: "    cma_pernuma=16M" — one of init's arguments / environment
  std::string text;
};
struct kconfig {                ///< "CONFIG_CMA_DEBUG=y" pasted with a log
  std::string key, value;
};
struct boot_debug {             ///< early_cma / dma_contiguous_reserve / cma_declare_contiguous pr_debug
  std::string text;
};

// ---- cmasim's kernel module (kmod/FORMAT.md) and the recorder -------------------
struct kmod_alloc {             ///< "cma_test: v1 op=alloc id= bytes= pages= align= pfn= cma= mode= err="
  std::uint64_t id = 0, bytes = 0, pages = 0;
  unsigned align = 0;
  pfn_t pfn = 0;
  bool cma = false;
  std::string mode;
  int err = 0;
};
struct kmod_free {              ///< "cma_test: v1 op=free id= pages= pfn= cma="
  std::uint64_t id = 0, pages = 0;
  pfn_t pfn = 0;
  bool cma = false;
};
struct kmod_hog {               ///< "cma_test: v1 op=hog pfn=" — a page held unmovable inside the area
  pfn_t pfn = 0;
};
struct kmod_unhog {             ///< "cma_test: v1 op=unhog pages="
  std::uint64_t pages = 0;
};
struct kmod_other {             ///< reject / mode / nowarn / list lines, and the legacy recorder's lines
  std::string op;
  std::string text;
};
struct recorder_bitmap {        ///< legacy recorder "cma_test: bitmap: START+LEN …" (used runs, bits)
  struct run { std::uint64_t start = 0; std::uint64_t len = 0; };
  std::vector<run> used;
};
struct step_result {            ///< "@@STEP N rc=R cmd=… | CmaTotal: N kB CmaFree: N kB …"
  unsigned n = 0;
  std::optional<int> rc;
  std::string cmd;
  std::optional<std::uint64_t> cma_total_kb, cma_free_kb;
};
struct live_allocation {        ///< "@@LIVE id= size= pages= pfn= … cma=1"
  std::uint64_t id = 0, pages = 0;
  pfn_t pfn = 0;
  bool cma = false;
};

using event = std::variant<alloc_start, alloc_finish, busy_retry, release, step_marker, alloc_call, alloc_returned,
                           busy_debug, release_debug, pages_invalid, alloc_failed, show_areas, pfns_busy,
                           callbacks_suppressed, show_areas_range, show_areas_total, isolation_failed, incompatible_area,
                           driver_failure, page_alloc_warning, boot_done, reserved, reserved_ranges, hugetlb_cma_reserve,
                           hugetlb_cma_reserved, hugetlb_cma_rejected, memrange_lookup, reserve_failed, rmem_pool, rmem_reusable,
                           rmem_initialized, rmem_note, reserve_boundary, memory_line, meminfo, vmstat, banner,
                           command_line, unknown_params, init_env, kconfig, boot_debug, kmod_alloc, kmod_free, kmod_hog, kmod_unhog, kmod_other,
                           recorder_bitmap, step_result, live_allocation>;

/// Where an event came from.
struct source {
  unsigned file = 0;          ///< index into the replay's list of inputs
  std::uint64_t line = 0;     ///< 1-based
  std::optional<double> time; ///< seconds since boot, when the line carried a timestamp
};

enum class origin { ftrace, kmsg, recorder };

struct located {
  event what;
  source where;
  origin from = origin::kmsg;
};

} // namespace cma::ev
