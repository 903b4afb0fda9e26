// cma/device/emulated_kernel.hpp — one emulated machine: the boot, the default area, the DMA
// layer, /dev/cma_test, debugfs, sysfs, /proc and the kernel's log and trace, as files.
//
// What it models: a kernel of one version booted with a command line on a machine of one
// RAM size (include/cma/boot/boot.hpp places the default area and the boot-time DMA atomic
// pools), with kmod/'s cma_test module loaded (cma_base/cma_size of the default area, as
// sim/recorder/record.sh loads it).  Every file a shell session on the board would touch is a
// path relative to the mount's root, the way the real kernel lays them out:
//   dev/cma_test                                   the module's misc device (cma_test_device)
//   sys/kernel/debug/cma/<dir>/{alloc,free,…}      mm/cma_debug.c (cma_debugfs; <dir> per version)
//   sys/kernel/mm/cma/<name>/…                     mm/cma_sysfs.c, 5.13+ (cma_sysfs), each area
//   sys/kernel/mm/hugepages/hugepages-<kB>kB/…     with hugetlb_cma=: the gigantic sizes (32768kB,
//                                                  1048576kB), nr_hugepages (writes grow and shrink
//                                                  the pool on hugetlb0: hugetlb_pool.hpp),
//                                                  free_hugepages, resv_hugepages, surplus_hugepages
//   proc/meminfo                                   CmaTotal / CmaFree (meminfo.hpp)
//   proc/vmstat                                    nr_free_cma, cma_alloc_success/_fail (vmstat.hpp)
//   sys/kernel/tracing/{trace,trace_marker}        the cma events and markers (kernel_log.hpp)
//   dmesg                                          the printk ring as `dmesg` prints it
// Only the CMA lines of meminfo and vmstat are served: the rest of those files is the page
// allocator's, which is not modelled.  CmaFree is the bitmap's free pages (exact); what the
// bitmap cannot see — movable pages borrowing the area, per-CPU lists — is 0 here
// (meminfo.hpp says which part is exact).
//
// The hugetlb area (hugetlb_cma=, node 0: hugetlb0) is a second area beside the default one:
// its own bitmap (order_per_bit as boot/hugetlb_cma.hpp says), its own sysfs counters, its
// lines and events in the same log and trace; CmaFree counts both.  Whether memory outside
// CMA can give a gigantic page when the area cannot is an assumption (hugetlb_pool_options:
// 32 MiB pages yes, 1 GiB no, at most RAM minus CMA in all), said in emulated.txt.
//
// Invariants: every operation takes the caller's time (ns since boot, never going back:
// kernel_log keeps the order) and the calling task (for the trace); only writes (and reads
// of dev/cma_test) change the state, so a journal of those, replayed in order with their
// times, rebuilds the same machine (the mount's --state).  Errors are negative errnos, as the kernel's
// handlers return them; paths that do not exist are -ENOENT.  The module's mutex serialises
// writers on the real kernel: this class is one-call-at-a-time, the caller serialises.
//
// Timeline of the boot (the emulation's, documented in emulate.txt): the pools at 0.4 s
// (dma_atomic_pool_init is a postcore initcall), 2 ms apart; the module at 3 s.
// Pure: no I/O, no clock, no globals.
#pragma once

#include "../allocator.hpp"
#include "../boot/boot.hpp"
#include "../dma/dma.hpp"
#include "../profile.hpp"
#include "cma_debugfs.hpp"
#include "cma_sysfs.hpp"
#include "cma_test_device.hpp"
#include "file_result.hpp"
#include "hugetlb_pool.hpp"
#include "kernel_log.hpp"
#include "meminfo.hpp"
#include "vmstat.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cma::device {

inline constexpr int eio = -5;     ///< procfs write without a proc_write handler (fs/proc/inode.c)

struct emulated_kernel_config {
  kernel_version version{6, 1, 0};
  arch a = arch::arm64;
  std::uint64_t ram = std::uint64_t{1} << 30; ///< bytes (QEMU -m)
  std::string cmdline;                        ///< the kernel's whole command line
  std::string release;                        ///< the banner's release ("6.1.0-cmasim-arm64")
  bool config_cma_debug = false;              ///< CONFIG_CMA_DEBUG=y (the field notes' 4.15 kernel)
  /// insmod's own words after the recorder's cma_base=/cma_size= (record.sh --insmod-args):
  /// "cma_size=33554432 max_live=64".  A later word wins, as with the kernel's parse_args().
  std::string insmod_args;
};

/// What a path is.
enum class node_kind { none, dir, file, symlink };
struct node {
  node_kind kind = node_kind::none;
  unsigned mode = 0; ///< permission bits as the kernel shows them (0200 alloc, 0444 count, …)
};

class emulated_kernel {
public:
  static constexpr std::uint64_t pools_at_ns = 400'000'000ULL;
  static constexpr std::uint64_t pool_step_ns = 2'000'000ULL;
  static constexpr std::uint64_t insmod_at_ns = 3'000'000'000ULL;

  /// Boots the machine and loads the module, or says why it cannot (no default area, a
  /// boot the model cannot place, an area outside RAM).
  static std::variant<std::unique_ptr<emulated_kernel>, std::string> boot(const emulated_kernel_config& c) {
    boot_config bc;
    bc.kernel = c.version;
    bc.a = c.a;
    bc.ram_size = c.ram;
    bc.cmdline = c.cmdline;
    boot_report rep = simulate_boot(bc);
    if (rep.error) return "boot: " + *rep.error;
    if (rep.panics) return std::string("boot: the area lies outside RAM; cma_activate_area would oops");
    const boot_area* def = nullptr;
    for (const auto& a : rep.areas)
      if (a.is_default && a.decl.ok() && a.activated) def = &a;
    if (!def)
      return "boot: no default CMA area with the command line '" + c.cmdline +
             "' (cma=0 or a failed reservation): /dev/cma_test needs one";
    if (auto err = check_insmod_args(c.insmod_args)) return *err;
    std::unique_ptr<emulated_kernel> k(new emulated_kernel(c, std::move(rep)));
    if (auto err = k->start()) return *err;
    return k;
  }

  emulated_kernel(const emulated_kernel&) = delete;
  emulated_kernel& operator=(const emulated_kernel&) = delete;

  // ------------------------------------------------------------------ the tree
  std::string debugfs_dir() const { return "sys/kernel/debug/cma/" + debugfs_.dir_name(); }
  std::string sysfs_dir() const { return "sys/kernel/mm/cma/" + cma_sysfs::dir_name(area_.name()); }

  /// What `path` (relative, no leading or trailing '/'; "" is the root) is.
  node stat(std::string_view path) const {
    if (path.empty()) return {node_kind::dir, 0555};
    for (const auto& d : dirs())
      if (d == path) return {node_kind::dir, 0555};
    if (auto rel = under(path, debugfs_dir())) {
      if (debugfs_.symlink_target(*rel)) return {node_kind::symlink, 0777};
      for (const auto& f : debugfs_.files())
        if (f == *rel) return {node_kind::file, (f == "alloc" || f == "free") ? 0200u : 0444u};
      return {};
    }
    if (auto rel = under(path, sysfs_dir())) {
      for (const auto& f : cma_sysfs::files(prof_))
        if (f == *rel) return {node_kind::file, 0444};
      return {};
    }
    if (huge_area_) {
      if (auto rel = under(path, huge_sysfs_dir())) {
        for (const auto& f : cma_sysfs::files(prof_))
          if (f == *rel) return {node_kind::file, 0444};
        return {};
      }
      for (const auto& [kb, order] : gigantic_sizes())
        if (auto rel = under(path, hugepages_dir(kb))) {
          if (*rel == "nr_hugepages") return {node_kind::file, 0644};
          if (*rel == "free_hugepages" || *rel == "resv_hugepages" || *rel == "surplus_hugepages")
            return {node_kind::file, 0444};
          return {};
        }
    }
    if (path == "dev/cma_test") return {node_kind::file, 0600};
    if (path == "proc/meminfo" || path == "proc/vmstat" || path == "dmesg") return {node_kind::file, 0444};
    if (path == "sys/kernel/tracing/trace") return {node_kind::file, 0644};
    if (path == "sys/kernel/tracing/trace_marker") return {node_kind::file, 0220};
    return {};
  }

  /// The names in directory `path`, in the kernel's creation order.
  std::vector<std::string> list(std::string_view path) const {
    std::vector<std::string> out;
    const std::string prefix = path.empty() ? std::string() : std::string(path) + "/";
    auto add = [&](const std::string& full) {
      if (full.size() <= prefix.size() || full.compare(0, prefix.size(), prefix) != 0) return;
      std::string rest = full.substr(prefix.size());
      rest = rest.substr(0, rest.find('/'));
      for (const auto& o : out)
        if (o == rest) return;
      out.push_back(rest);
    };
    for (const auto& d : dirs()) add(d);
    for (const auto& f : files()) add(f);
    return out;
  }

  /// A symlink's target, relative to its directory (6.15+ debugfs base_pfn, bitmap).
  std::optional<std::string> readlink(std::string_view path) const {
    if (auto rel = under(path, debugfs_dir())) return debugfs_.symlink_target(*rel);
    return std::nullopt;
  }

  /// Does reading `path` change the machine?  (dev/cma_test frees the oldest allocation.)
  static bool read_changes_state(std::string_view path) noexcept { return path == "dev/cma_test"; }

  /// read(2) of `len` bytes at `off`.  dev/cma_test is the device's own read; every other
  /// file is formatted whole and cut at [off, off + len) (seq_file / simple_attr format on
  /// the first read; callers that want one snapshot per open file keep the whole text).
  read_result read(std::string_view path, std::size_t len, std::uint64_t off, std::uint64_t now_ns,
                   const trace_task& t = {}) {
    if (path == "dev/cma_test") {
      clock(now_ns);
      G_.set_task(t);
      const auto io = G_.read(len, off, now_ns);
      if (!io.ok()) return {static_cast<int>(io.ret), {}};
      return {0, io.text};
    }
    auto whole = text(path);
    if (!whole.ok()) return whole;
    if (off >= whole.text.size()) return {0, {}};
    return {0, whole.text.substr(static_cast<std::size_t>(off), len)};
  }

  /// The whole text of a file (not dev/cma_test, whose read changes the state).
  read_result text(std::string_view path) const {
    const node n = stat(path);
    if (n.kind == node_kind::dir) return {eisdir, {}};
    if (n.kind == node_kind::none) return {enoent, {}};
    if (auto rel = under(path, debugfs_dir())) return debugfs_.read(*rel);
    if (auto rel = under(path, sysfs_dir())) return sysfs_.read(area_, *rel);
    if (huge_area_) {
      if (auto rel = under(path, huge_sysfs_dir())) return huge_sysfs_.read(*huge_area_, *rel);
      for (const auto& [kb, order] : gigantic_sizes())
        if (auto rel = under(path, hugepages_dir(kb))) {
          const std::uint64_t v = *rel == "nr_hugepages" ? huge_pool_.nr(order)
                                  : *rel == "free_hugepages" ? huge_pool_.free(order) : 0;
          return {0, std::to_string(v) + "\n"};
        }
    }
    if (path == "proc/meminfo") return {0, meminfo_cma_total(rep_.cma_total_kb / 4) + meminfo_cma_free(cma_free())};
    if (path == "proc/vmstat") return {0, vmstat_nr_free_cma(cma_free()) + vm_.lines()};
    if (path == "dmesg") return {0, K_.dmesg().text()};
    if (path == "sys/kernel/tracing/trace") return {0, K_.trace().text()};
    return {einval, {}}; // trace_marker: write-only (tracing_mark_fops has no read)
  }

  /// write(2) of `data` at offset 0 (the shell's `echo … >`).
  write_result write(std::string_view path, std::string_view data, std::uint64_t now_ns, const trace_task& t = {}) {
    const node n = stat(path);
    if (n.kind == node_kind::dir) return {eisdir, 0};
    if (n.kind == node_kind::none) return {enoent, 0};
    clock(now_ns);
    if (path == "dev/cma_test") {
      G_.set_task(t);
      const auto io = G_.write(data, now_ns);
      if (!io.ok()) return {static_cast<int>(io.ret), 0};
      return {0, static_cast<std::size_t>(io.ret)};
    }
    if (auto rel = under(path, debugfs_dir())) return debugfs_write(*rel, data, now_ns, t);
    if (auto rel = under(path, sysfs_dir())) return sysfs_.write(*rel);
    if (huge_area_) {
      if (auto rel = under(path, huge_sysfs_dir())) return huge_sysfs_.write(*rel);
      for (const auto& [kb, order] : gigantic_sizes())
        if (auto rel = under(path, hugepages_dir(kb))) {
          if (*rel != "nr_hugepages") return {eacces, 0}; // 0444 attributes
          return nr_hugepages_write(order, data, now_ns, t);
        }
    }
    if (path == "sys/kernel/tracing/trace_marker") {
      std::string_view text = data;
      if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
      K_.mark(now_ns, t, text);
      return {0, data.size()};
    }
    if (path == "sys/kernel/tracing/trace") return {0, data.size()}; // tracing_write_stub
    if (path == "dmesg") return {eacces, 0};                      // the mount's own file, read-only
    return {eio, 0};                                                  // /proc: no proc_write
  }

  /// open(…, O_TRUNC) of the trace: the ring is emptied (other files ignore the truncation,
  /// as debugfs, sysfs and the misc device do).
  void truncate(std::string_view path) {
    if (path == "sys/kernel/tracing/trace") K_.trace().clear();
  }

  // ------------------------------------------------------------------ the parts
  const boot_report& boot_rep() const noexcept { return rep_; }
  const profile& prof() const noexcept { return prof_; }
  const allocator& area() const noexcept { return area_; }
  kernel_log& log() noexcept { return K_; }
  const kernel_log& log() const noexcept { return K_; }
  logged_cma_test_device& device() noexcept { return G_; }
  const cma_test_device& module() const noexcept { return dev_; }
  const cma_test_params& module_params() const noexcept { return params_; }
  const cma_sysfs& sysfs() const noexcept { return sysfs_; }
  const cma_vm_events& vm_events() const noexcept { return vm_; }
  const dma::dma_layer& dma() const noexcept { return L_; }
  std::uint64_t cma_total_kb() const noexcept { return rep_.cma_total_kb; }
  std::uint64_t cma_free_kb() const noexcept { return cma_free().pages() << (page_shift - 10); }
  /// The hugetlb area (hugetlb0) when the command line has hugetlb_cma= and the boot made it.
  const allocator* huge_area() const noexcept { return huge_area_ ? &*huge_area_ : nullptr; }
  const hugetlb_pool& huge_pool() const noexcept { return huge_pool_; }
  std::string huge_sysfs_dir() const {
    return "sys/kernel/mm/cma/" + cma_sysfs::dir_name(huge_area_ ? huge_area_->name() : std::string("hugetlb0"));
  }
  static std::string hugepages_dir(std::uint64_t kb) {
    return "sys/kernel/mm/hugepages/hugepages-" + std::to_string(kb) + "kB";
  }
  /// The gigantic page sizes of arm64 with 4 KiB pages ({kB, order}): PUD (1 GiB, order 18)
  /// and CONT_PMD (32 MiB, order 13), in the directory order of /sys/kernel/mm/hugepages.
  static constexpr std::array<std::pair<std::uint64_t, unsigned>, 2> gigantic_sizes() noexcept {
    return {{{1048576, 18}, {32768, 13}}};
  }
  /// The areas' sysfs directories and their areas, in `ls /sys/kernel/mm/cma` order.
  std::vector<std::pair<std::string, const allocator*>> sysfs_areas() const {
    std::vector<std::pair<std::string, const allocator*>> v{{sysfs_dir(), &area_}};
    if (huge_area_) v.emplace_back(huge_sysfs_dir(), &*huge_area_);
    std::sort(v.begin(), v.end());
    return v;
  }

  /// Sets the time of the next device operation for the DMA layer's failure ratelimit.
  void clock(std::uint64_t now_ns) noexcept {
    lo_.now_ns = now_ns;
    L_.log.now_ns = now_ns;
  }

private:
  emulated_kernel(const emulated_kernel_config& c, boot_report rep)
      : cfg_(c), rep_(std::move(rep)), prof_(profile::for_version(c.version)), area_(make_area(rep_, prof_)),
        K_(prof_, log_opts(c.cmdline)), lo_(dma_log(c)),
        L_(dma::dma_rules::for_version(c.version, dma_cfg(c, rep_)), &area_, lo_),
        params_(module_params_for(area_, c)), dev_(L_, params_), G_(L_, dev_, K_, trace_task{"insmod", 100, 0}),
        debugfs_(area_), sysfs_(prof_), vm_(prof_), huge_area_(make_huge_area(rep_, prof_)), huge_sysfs_(prof_),
        huge_pool_(c.version, huge_options(c, rep_)) {
    G_.on_cma_alloc = [this](const alloc_result& r) { account(r); };
    G_.on_cma_release = [this](page_count n) { sysfs_.on_release(n); };
  }

  static const boot_area& default_area(const boot_report& rep) {
    for (const auto& a : rep.areas)
      if (a.is_default && a.decl.ok() && a.activated) return a;
    return rep.areas.front(); // boot() checked there is one
  }
  static allocator make_area(const boot_report& rep, const profile& p) {
    const auto& def = default_area(rep);
    return allocator(def.decl.name.empty() ? std::string("reserved") : def.decl.name,
                     memrange_spec{def.decl.base_pfn(), def.decl.count()}, 0, p);
  }
  /// hugetlb0 as the boot made it (node 0's area, activated), with its ranges and order_per_bit.
  static std::optional<allocator> make_huge_area(const boot_report& rep, const profile& p) {
    for (const auto& a : rep.areas) {
      if (!a.hugetlb || a.hugetlb->nid != 0 || !a.decl.ok() || !a.activated) continue;
      std::vector<memrange_spec> ranges;
      for (const auto& [base, size] : a.decl.ranges) ranges.push_back({base >> page_shift, size >> page_shift});
      if (ranges.empty()) ranges.push_back({a.decl.base_pfn(), a.decl.count()});
      return allocator(a.decl.name, std::move(ranges), a.decl.order_per_bit, p);
    }
    return std::nullopt;
  }
  /// What the page allocator is assumed to give outside CMA: gigantic pages below 1 GiB, up to
  /// the RAM the areas do not take (the kernel's own memory aside: an upper bound).
  static hugetlb_pool_options huge_options(const emulated_kernel_config& c, const boot_report& rep) {
    hugetlb_pool_options o;
    const std::uint64_t cma = rep.cma_total_kb << 10;
    o.outside_bytes = c.ram > cma ? c.ram - cma : 0;
    return o;
  }
  static std::optional<std::string> word_value(const std::string& cmdline, std::string_view key) {
    std::optional<std::string> v;
    for (const auto& w : split_cmdline(cmdline))
      if (w.name == key && w.value) v = *w.value;
    return v;
  }
  static std::uint64_t size_param(const std::string& cmdline, std::string_view key, std::uint64_t fallback) {
    const auto v = word_value(cmdline, key);
    if (!v) return fallback;
    const auto r = memparse(*v);
    return r.consumed > 0 ? r.value : fallback;
  }
  static kernel_log_options log_opts(const std::string& cmdline) {
    kernel_log_options ko;
    ko.log_buf_len = size_param(cmdline, "log_buf_len", log_buffer::debian_log_buf_len);
    ko.trace_buffer_size = size_param(cmdline, "trace_buf_size", trace_buffer::default_size);
    const auto ev = word_value(cmdline, "trace_event");
    ko.tracing_on = ev && (ev->find("cma:*") != std::string::npos || ev->find("cma:") != std::string::npos);
    return ko;
  }
  dma::log_options dma_log(const emulated_kernel_config& c) {
    dma::log_options lo;
    lo.config_cma_debug = c.config_cma_debug;
    const auto dd = word_value(c.cmdline, "dyndbg");
    lo.dyndbg = dd && dd->find("file mm/cma.c +p") != std::string::npos;
    lo.failure_ratelimit = &ratelimit_;
    return lo;
  }
  static dma::dma_config dma_cfg(const emulated_kernel_config& c, const boot_report& rep) {
    dma::dma_config d;
    d.arch = c.a == arch::arm64 ? dma::dma_arch::arm64 : dma::dma_arch::x86_64;
    // 4.15 x86: swiotlb's dma_ops when memory extends above 4 GiB (dma_rules.hpp).
    d.x86_swiotlb = rep.arch_limit > (std::uint64_t{1} << 32);
    return d;
  }
  static cma_test_params module_params_for(const allocator& area, const emulated_kernel_config& c) {
    cma_test_params p = cma_test_params::for_area(area);
    p.totalram_bytes = c.ram;
    for (const auto& w : split_cmdline(c.insmod_args)) {
      const std::uint64_t v = module_param_value(w.value.value_or("")).value_or(0); // checked in boot()
      if (w.name == "cma_base") p.cma_base = v;
      else if (w.name == "cma_size") p.cma_size = v;
      else if (w.name == "max_live") p.max_live = static_cast<unsigned>(v);
      else if (w.name == "max_hog") p.max_hog = static_cast<unsigned>(v);
    }
    return p;
  }
  /// A ullong/uint module parameter's value as param_set_ullong() reads it (kernel/params.c:
  /// kstrtoull with base 0: 0x… hex, 0… octal, else decimal; the whole word, nothing after).
  static std::optional<std::uint64_t> module_param_value(std::string_view v) {
    int base = 10;
    if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) base = 16, v.remove_prefix(2);
    else if (v.size() > 1 && v[0] == '0') base = 8, v.remove_prefix(1);
    if (v.empty()) return std::nullopt;
    std::uint64_t r = 0;
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), r, base);
    if (ec != std::errc{} || p != v.data() + v.size()) return std::nullopt;
    return r;
  }
  /// cma_test.c's parameters: cma_base, cma_size (ullong), max_live, max_hog (uint).  Anything
  /// else would make insmod fail or print what the emulation cannot know, so it is refused.
  static std::optional<std::string> check_insmod_args(const std::string& args) {
    for (const auto& w : split_cmdline(args)) {
      const bool is_uint = w.name == "max_live" || w.name == "max_hog";
      if (w.name != "cma_base" && w.name != "cma_size" && !is_uint)
        return "insmod: cma_test has no parameter '" + std::string(w.name) +
               "' (it takes cma_base, cma_size, max_live, max_hog)";
      const auto v = module_param_value(w.value.value_or(""));
      if (!v || (is_uint && *v > 0xffffffffULL))
        return "insmod: '" + std::string(w.name) + "=" + w.value.value_or("") + "' is not a valid " +
               (is_uint ? "uint" : "ullong") + " (kstrtoull, base 0)";
    }
    return std::nullopt;
  }

  /// The boot's lines and pools, then insmod.  An error only if the model disagrees with itself.
  std::optional<std::string> start() {
    K_.printk(0, "Linux version " + cfg_.release + " (cmasim) #1 SMP (emulated by cmasim, not a real boot)");
    // Boot-time pr_debug lines print only under CONFIG_CMA_DEBUG (≤ 6.11): dyndbg= is applied
    // after memblock, when the area is already declared.
    const bool boot_debug = cfg_.config_cma_debug && prof_.version < kernel_version{6, 12, 0};
    for (const auto& l : rep_.log)
      if (!l.debug || boot_debug) K_.printk(0, l.text);
    K_.printk(0, "Kernel command line: " + cfg_.cmdline);
    const trace_task swapper{"swapper/0", 1, 0};
    std::uint64_t now = pools_at_ns;
    for (const auto& p : default_area(rep_).pools) {
      if (!p.request.from_cma) continue;
      clock(now);
      const auto r = area_.alloc(p.request.count, p.request.align);
      if (!r.ok() || r.pfn != p.pfn)
        return "internal: a boot pool of " + std::to_string(p.request.count) + " pages did not land where the boot model said";
      K_.cma_alloc(now, swapper, area_, r, false, lo_);
      account(r);
      now += pool_step_ns;
    }
    for (const auto& l : rep_.pool_lines) K_.printk(now, l);
    clock(insmod_at_ns);
    G_.load(insmod_at_ns);
    return std::nullopt;
  }

  void account(const alloc_result& r) {
    sysfs_.on_cma_alloc(r);
    vm_.on_cma_alloc(r);
  }

  nr_free_cma cma_free() const {
    page_count free = bitmap_free_pages(area_);
    if (huge_area_) free += bitmap_free_pages(*huge_area_);
    return {free, 0};
  }

  /// nr_hugepages_store (mm/hugetlb_sysfs.c 7.x, mm/hugetlb.c before): kstrtoul base 10 — an
  /// optional '+', decimal digits, one optional trailing newline; -EINVAL otherwise, -ERANGE
  /// past 64 bits — then set_max_huge_pages on hugetlb0, each page's cma_alloc (no_warn) and
  /// cma_release in the log and trace.  The write returns its length: fewer pages is no error.
  write_result nr_hugepages_write(unsigned order, std::string_view data, std::uint64_t now_ns, const trace_task& t) {
    std::string_view v = data;
    if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
    if (!v.empty() && v.front() == '+') v.remove_prefix(1);
    std::uint64_t n = 0;
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n, 10);
    if (v.empty() || ec == std::errc::invalid_argument || (ec == std::errc{} && p != v.data() + v.size()))
      return {einval, 0};
    if (ec == std::errc::result_out_of_range) {
      for (const char ch : v)
        if (ch < '0' || ch > '9') return {einval, 0};
      return {erange, 0};
    }
    const auto w = huge_pool_.set_nr_hugepages(*huge_area_, order, n);
    if (w.ret != 0) return {w.ret, 0};
    for (const auto& c : w.calls) {
      if (c.kind == hugetlb_call_kind::alloc) {
        K_.cma_alloc(now_ns, t, *huge_area_, c.cma, true, lo_);
        huge_sysfs_.on_cma_alloc(c.cma);
        vm_.on_cma_alloc(c.cma);
        continue;
      }
      const page_count count = page_count{1} << c.order;
      if (c.traced_release()) {
        K_.cma_release(now_ns, t, L_.rules, *huge_area_, c.page.pfn, count, c.release, lo_);
        huge_sysfs_.on_cma_release(c.release, count);
      } else if (c.pages_valid_line()) { // ≤ 6.14: cma_release asked about a page outside the area
        const pfn_t stand_in = (pfn_t{1} << 40) + c.page.outside_id; // no pfn modelled: a pointer of its own
        K_.cma_release(now_ns, t, L_.rules, *huge_area_, stand_in, count, c.release, lo_);
      }
    }
    return {0, data.size()};
  }

  write_result debugfs_write(std::string_view rel, std::string_view data, std::uint64_t now_ns, const trace_task& t) {
    if (rel == "alloc") {
      const auto o = debugfs_.write_alloc(data, dev_.busy_pages().oracle());
      if (o.alloc) {
        K_.cma_alloc(now_ns, t, area_, *o.alloc, false, lo_);
        account(*o.alloc);
      }
      return o.write;
    }
    if (rel == "free") {
      const auto o = debugfs_.write_free(data);
      for (const auto& r : o.releases) {
        K_.cma_release(now_ns, t, L_.rules, area_, r.pfn, r.count, r.result, lo_);
        sysfs_.on_cma_release(r.result, r.count);
      }
      if (o.partial_refused && lo_.debug_lines(prof_)) K_.printk(now_ns, cma_debugfs_partial_release_msg);
      return o.write;
    }
    return debugfs_.write(rel, data);
  }

  static std::optional<std::string_view> under(std::string_view path, const std::string& dir) {
    if (path.size() <= dir.size() + 1 || path.compare(0, dir.size(), dir) != 0 || path[dir.size()] != '/')
      return std::nullopt;
    return path.substr(dir.size() + 1);
  }

  std::vector<std::string> dirs() const {
    std::vector<std::string> d = {"dev", "proc", "sys", "sys/kernel", "sys/kernel/debug", "sys/kernel/debug/cma",
                                  debugfs_dir(), "sys/kernel/tracing"};
    if (debugfs_.has_ranges_dir()) {
      d.push_back(debugfs_dir() + "/ranges");
      for (std::size_t r = 0; r < area_.ranges().size(); ++r) d.push_back(debugfs_dir() + "/ranges/" + std::to_string(r));
    }
    if (cma_sysfs::present(prof_) || huge_area_) d.emplace_back("sys/kernel/mm");
    if (cma_sysfs::present(prof_)) {
      d.emplace_back("sys/kernel/mm/cma");
      d.push_back(sysfs_dir());
      if (huge_area_) d.push_back(huge_sysfs_dir());
    }
    if (huge_area_) {
      d.emplace_back("sys/kernel/mm/hugepages");
      for (const auto& [kb, order] : gigantic_sizes()) d.push_back(hugepages_dir(kb));
    }
    return d;
  }
  std::vector<std::string> files() const {
    std::vector<std::string> f = {"dev/cma_test", "dmesg", "proc/meminfo", "proc/vmstat", "sys/kernel/tracing/trace",
                                  "sys/kernel/tracing/trace_marker"};
    for (const auto& x : debugfs_.files()) f.push_back(debugfs_dir() + "/" + x);
    for (const auto& x : cma_sysfs::files(prof_)) f.push_back(sysfs_dir() + "/" + x);
    if (huge_area_) {
      for (const auto& x : cma_sysfs::files(prof_)) f.push_back(huge_sysfs_dir() + "/" + x);
      for (const auto& [kb, order] : gigantic_sizes())
        for (const char* x : {"free_hugepages", "nr_hugepages", "resv_hugepages", "surplus_hugepages"})
          f.push_back(hugepages_dir(kb) + "/" + x);
    }
    return f;
  }

  emulated_kernel_config cfg_;
  boot_report rep_;
  profile prof_;
  allocator area_;
  kernel_log K_;
  dma::printk_ratelimit ratelimit_;
  dma::log_options lo_;
  dma::dma_layer L_;
  cma_test_params params_;
  cma_test_device dev_;
  logged_cma_test_device G_;
  cma_debugfs<allocator> debugfs_;
  cma_sysfs sysfs_;
  cma_vm_events vm_;
  std::optional<allocator> huge_area_; ///< hugetlb0 (hugetlb_cma=)
  cma_sysfs huge_sysfs_;
  hugetlb_pool huge_pool_;
};

} // namespace cma::device
