// sim/cmd_boot.cpp — `cmasim boot`: where each CMA area lands at boot.
//
//   cmasim boot --kernel 6.1 --arch arm64 --mem 1G
//               --cmdline 'console=ttyAMA0 cma=128M@0x50000000-0x70000000'
//               [--memblock boot.log] [--machine qemu-virt|pc] [--numa N] [--debug] [--json]
//
// Prints, per area, the kernel's own line (`cma: Reserved …` or the version's
// variant, or `cma: Failed to reserve …`), then base_pfn, count, the alignment
// applied, the boot-time DMA atomic pool allocations, CmaTotal and the Memory:
// line's cma-reserved, warnings, and which inputs were assumed.  A `hugetlb_cma=`
// area (hugetlb<nid>) also shows its order_per_bit, its ranges (6.15+ may use
// several), and the largest gigantic-page order it can ever serve (a 2^k-page
// window aligned to 2^k pages inside it) with how many 1 GiB pages fit.  The model is
// include/cma/boot/boot.hpp; this file only reads files and prints.
// --memblock reads a `memblock=debug` boot log (include/cma/formats/
// memblock_debug.hpp) instead of the machine profile; without --cmdline the log's
// "Kernel command line:" is used, and the log's RAM is the RAM (a different --mem
// is named in a note: the log is what the kernel saw; --machine is refused beside
// it).  --mem takes QEMU's -m syntax (a bare number is MiB) and is bounded by what
// the machine profile can hold; a profile of the other arch is refused.  Errors,
// including a failed write of the output, go to stderr with exit code 2.
#include "commands.hpp"
#include "qemu_mem.hpp"
#include "output.hpp"

#include <cma/boot/boot.hpp>
#include <cma/formats/memblock_debug.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

namespace cmasim {
namespace {

struct boot_options {
  std::string kernel = "6.1";
  std::string arch = "arm64";
  std::string mem;
  std::optional<std::string> cmdline;
  std::string memblock_log;
  std::string machine;
  unsigned numa = 1;
  bool json = false;
  bool debug = false;
};

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "cmasim boot: %s\n", why.c_str());
  throw CLI::RuntimeError(exit_usage);
}

std::string read_file(const std::string& path) {
  // A directory opens fine and fails on the first read (libstdc++ throws
  // std::ios_failure from underflow): refuse it by name before reading.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    fail("--memblock " + path + ": is a directory, not a memblock=debug log");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("--memblock " + path + ": cannot open: " + std::strerror(errno ? errno : ENOENT));
  try {
    in.exceptions(std::ios::badbit);
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    return text;
  } catch (const std::exception&) {
    fail("--memblock " + path + ": read error: " + std::strerror(errno ? errno : EIO));
  }
}

cma::boot_config make_config(const boot_options& o) {
  cma::boot_config c;
  const auto kv = cma::kernel_version::parse(o.kernel);
  if (!kv) fail("--kernel: not a kernel version: '" + o.kernel + "'");
  c.kernel = *kv;
  if (o.arch == "arm64" || o.arch == "aarch64") c.a = cma::arch::arm64;
  else if (o.arch == "x86" || o.arch == "x86_64" || o.arch == "amd64") c.a = cma::arch::x86_64;
  else fail("--arch: expected arm64 or x86_64, got '" + o.arch + "'");
  c.machine = o.machine;
  c.numa_nodes = o.numa;
  if (o.numa > 1 && !o.memblock_log.empty())
    fail("--numa describes the machine, as --memblock does; give one");
  if (!o.machine.empty() && !o.memblock_log.empty())
    fail("--machine and --memblock both describe the machine; give one");
  if (!o.mem.empty()) c.ram_size = parse_qemu_mem(o.mem, [](const std::string& why) { fail(why); });
  if (o.cmdline) c.cmdline = *o.cmdline;
  if (!o.memblock_log.empty()) {
    const auto r = cma::formats::memblock_debug::parse(read_file(o.memblock_log));
    if (!r) fail(o.memblock_log + ": " + r.error.message);
    c.memblock_state = r.log->mb;
    c.memblock_notes = r.log->notes;
    if (!o.cmdline && r.log->kernel_cmdline) {
      c.cmdline = *r.log->kernel_cmdline;
      c.memblock_notes.push_back("command line taken from the log's \"Kernel command line:\"");
    }
  } else if (c.ram_size == 0) {
    fail("--mem is required without --memblock");
  }
  if (!o.cmdline && o.memblock_log.empty())
    fail("--cmdline is required without --memblock (use --cmdline '' for none)");
  return c;
}

std::string hex(std::uint64_t v) { return fmt::format("0x{:x}", v); }

nlohmann::json to_json(const cma::boot_report& r, bool debug) {
  nlohmann::json j;
  j["kernel"] = r.kernel.str();
  j["arch"] = cma::arch_name(r.a);
  j["machine"] = r.machine;
  j["ram_bytes"] = r.ram_size;
  j["arch_limit"] = hex(r.arch_limit);
  j["log"] = nlohmann::json::array();
  for (const auto& l : r.log)
    if (debug || !l.debug) j["log"].push_back(l.text);
  j["areas"] = nlohmann::json::array();
  for (const auto& a : r.areas) {
    nlohmann::json x;
    x["name"] = a.decl.name;
    x["from"] = a.why;
    x["ret"] = a.decl.ret;
    x["line"] = a.decl.lines.empty() ? "" : a.decl.lines.back();
    if (a.decl.ok()) {
      x["base"] = hex(a.decl.base);
      x["base_pfn"] = hex(a.decl.base_pfn());
      x["count"] = a.decl.count();
    }
    x["size_requested"] = a.decl.requested_size;
    x["size"] = a.decl.size;
    x["alignment"] = a.decl.alignment;
    x["fixed"] = a.decl.fixed;
    x["order_per_bit"] = a.decl.order_per_bit;
    x["activated"] = a.activated;
    if (a.hugetlb) {
      x["kind"] = "hugetlb";
      x["nid"] = a.hugetlb->nid;
      x["gigantic_order"] = a.hugetlb->gigantic_order;
      if (a.decl.ok()) {
        x["max_alloc_order"] = a.hugetlb->max_alloc_order;
        x["max_gigantic_pages"] = a.hugetlb->max_gigantic_pages;
      }
      x["spans_zones"] = a.hugetlb->spans_zones;
    } else {
      x["kind"] = a.is_default ? "default" : "dma";
    }
    if (a.decl.ok()) {
      x["ranges"] = nlohmann::json::array();
      for (const auto& [b, sz] : a.decl.ranges)
        x["ranges"].push_back({{"base", hex(b)}, {"base_pfn", hex(b >> cma::page_shift)},
                               {"count", sz >> cma::page_shift}});
    }
    x["boot_allocations"] = nlohmann::json::array();
    for (const auto& p : a.pools)
      x["boot_allocations"].push_back({{"pool", p.request.gfp},
                                       {"count", p.request.count},
                                       {"align", p.request.align},
                                       {"from_cma", p.request.from_cma},
                                       {"pfn", p.request.from_cma ? hex(p.pfn) : ""}});
    x["warnings"] = a.warnings;
    j["areas"].push_back(std::move(x));
  }
  j["dma_pool_lines"] = r.pool_lines;
  j["memory_cma_reserved_k"] = r.memory_cma_reserved_k;
  j["cma_total_kb"] = r.cma_total_kb;
  j["panics"] = r.panics;
  if (!r.panic_reason.empty()) j["panic_reason"] = r.panic_reason;
  j["warnings"] = r.warnings;
  j["notes"] = r.notes;
  j["assumed"] = r.assumed;
  return j;
}

void print_area(const cma::boot_area& a) {
  std::printf("\n[%s] from %s\n", a.decl.name.c_str(), a.why.c_str());
  if (!a.decl.ok()) {
    std::printf("  failed: %d (%s)\n", a.decl.ret, std::string(cma::errno_name(a.decl.ret)).c_str());
    return;
  }
  std::printf("  base_pfn   0x%llx  (%s)\n", static_cast<unsigned long long>(a.decl.base_pfn()),
              hex(a.decl.base).c_str());
  std::printf("  count      %llu pages (%llu MiB)\n", static_cast<unsigned long long>(a.decl.count()),
              static_cast<unsigned long long>(a.decl.size >> 20));
  std::printf("  alignment  %llu KiB%s\n", static_cast<unsigned long long>(a.decl.alignment >> 10),
              a.decl.fixed ? ", fixed base" : "");
  if (a.hugetlb || a.decl.order_per_bit)
    std::printf("  order_per_bit %u\n", a.decl.order_per_bit);
  if (a.decl.ranges.size() > 1)
    for (std::size_t i = 0; i < a.decl.ranges.size(); ++i)
      std::printf("  range %zu    base_pfn 0x%llx  count %llu pages\n", i,
                  static_cast<unsigned long long>(a.decl.ranges[i].first >> cma::page_shift),
                  static_cast<unsigned long long>(a.decl.ranges[i].second >> cma::page_shift));
  if (a.hugetlb) {
    const auto& h = *a.hugetlb;
    const unsigned long long gig_mib = (cma::page_size << h.gigantic_order) >> 20;
    if (h.max_alloc_order < 0)
      std::printf("  gigantic   no aligned page fits\n");
    else
      std::printf("  gigantic   largest order that can ever be allocated: %d (%llu KiB); %llu x %llu MiB pages at most%s\n",
                  h.max_alloc_order, static_cast<unsigned long long>((cma::page_size << h.max_alloc_order) >> 10),
                  static_cast<unsigned long long>(h.max_gigantic_pages), gig_mib,
                  h.max_alloc_order < static_cast<int>(h.gigantic_order) ? " (not one is aligned inside the area)" : "");
  }
  for (const auto& p : a.pools) {
    if (p.request.from_cma)
      std::printf("  boot alloc count=%llu align=%u pfn=0x%llx  (%s atomic pool)\n",
                  static_cast<unsigned long long>(p.request.count), p.request.align,
                  static_cast<unsigned long long>(p.pfn), p.request.gfp.c_str());
    else
      std::printf("  boot alloc %s atomic pool: not from CMA (buddy)\n", p.request.gfp.c_str());
  }
}

void print_text(const cma::boot_report& r, bool debug) {
  std::printf("kernel %s %s, machine %s, RAM %llu MiB, dma_contiguous_reserve limit %s\n",
              r.kernel.str().c_str(), cma::arch_name(r.a), r.machine.c_str(),
              static_cast<unsigned long long>(r.ram_size >> 20), hex(r.arch_limit).c_str());
  std::printf("\n");
  for (const auto& l : r.log)
    if (debug || !l.debug) std::printf("%s\n", l.text.c_str());
  if (r.areas.empty()) std::printf("(no CMA area declared)\n");
  for (const auto& a : r.areas) print_area(a);
  std::printf("\n");
  for (const auto& l : r.pool_lines) std::printf("%s\n", l.c_str());
  std::printf("Memory: … %lluK cma-reserved\n", static_cast<unsigned long long>(r.memory_cma_reserved_k));
  std::printf("CmaTotal: %llu kB%s\n", static_cast<unsigned long long>(r.cma_total_kb),
              !r.panics ? ""
              : r.panic_reason.empty() ? "  (not reached: the kernel panics while activating the area)"
                                       : "  (not reached: the boot dies early, see warnings)");
  if (!r.warnings.empty()) std::printf("\nwarnings:\n");
  for (const auto& w : r.warnings) std::printf("  - %s\n", w.c_str());
  if (!r.notes.empty()) std::printf("\nnotes:\n");
  for (const auto& n : r.notes) std::printf("  - %s\n", n.c_str());
  if (!r.assumed.empty()) std::printf("\nassumed:\n");
  for (const auto& a : r.assumed) std::printf("  - %s\n", a.c_str());
}

void run(const boot_options& o) {
  const cma::boot_report r = cma::simulate_boot(make_config(o));
  if (r.error) fail(*r.error);
  if (o.json)
    std::printf("%s\n", to_json(r, o.debug).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  else
    print_text(r, o.debug);
  finish_output("boot");
}

} // namespace

void add_boot_command(CLI::App& app) {
  auto opts = std::make_shared<boot_options>();
  auto* cmd = app.add_subcommand("boot", "predict where each CMA area lands at boot");
  cmd->add_option("--kernel", opts->kernel, "kernel version (4.15, 5.10, 6.1, 6.12, …)")
      ->capture_default_str();
  cmd->add_option("--arch", opts->arch, "arm64 or x86_64")->capture_default_str();
  cmd->add_option("--mem", opts->mem, "RAM size as QEMU -m takes it (1G, 2048M; a bare number is MiB)");
  cmd->add_option("--cmdline", opts->cmdline, "kernel command line");
  cmd->add_option("--memblock", opts->memblock_log, "a memblock=debug boot log (replaces --machine)");
  cmd->add_option("--machine", opts->machine, "qemu-virt (arm64 default) or pc (x86 default)");
  cmd->add_option("--numa", opts->numa, "NUMA nodes of qemu-virt, as `cmasim record --numa N` boots (default 1)")
      ->check(CLI::Range(1u, 8u));
  cmd->add_flag("--debug", opts->debug, "also print the pr_debug lines (CMA_DEBUG / dyndbg)");
  cmd->add_flag("--json", opts->json, "print JSON");
  cmd->callback([opts] { run(*opts); });
}

} // namespace cmasim
