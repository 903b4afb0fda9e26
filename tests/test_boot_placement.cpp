// Tests for the boot placement model: cma/boot/memblock.hpp, cma/boot/cma_declare_contiguous.hpp,
// cma/boot/dma_contiguous_reserve.hpp, cma/boot/dma_atomic_pool.hpp, cma/boot/machine.hpp,
// cma/formats/memblock_debug.hpp and cma/boot/boot.hpp.
//
// The trace checks predict each recorded boot (tests/data/traces) from its
// cmdline.txt and the -m of qemu_cmd.txt alone, once with the qemu-virt profile
// and once with the memblock state read from place_fixed_0x48's memblock=debug log
// (answer lines removed), and compare: the kernel's `cma: Reserved/Failed` line,
// the `cma-reserved` K of the Memory: line, CmaTotal, the DMA pool lines and the
// (count, align, pfn) of every boot-time cma_alloc in trace.txt.
#include "boot_helpers.hpp"

#include <cma/boot/boot.hpp>
#include <cma/formats/memblock_debug.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using cmatest::lines_of;
using cmatest::slurp;
using cmatest::M;
using cmatest::G;


std::string trace_dir(const std::string& name) {
  return std::string(CMASIM_TEST_DATA) + "/traces/" + name;
}

/// The text after the first occurrence of `key` on a line containing it, or "".
std::string find_after(const std::string& text, const std::string& key) {
  for (const auto& l : lines_of(text))
    if (const auto at = l.find(key); at != std::string::npos) return l.substr(at);
  return "";
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

/// `-m 1G` of qemu_cmd.txt in bytes.
cma::phys_addr_t qemu_ram(const std::string& qemu_cmd) {
  const auto at = qemu_cmd.find(" -m ");
  REQUIRE(at != std::string::npos);
  return cma::memparse(std::string_view(qemu_cmd).substr(at + 4)).value;
}

/// "…, 65536K cma-reserved)" → 65536.
std::uint64_t memory_line_cma_k(const std::string& dmesg) {
  const std::string l = find_after(dmesg, "Memory: ");
  const auto end = l.find("K cma-reserved");
  REQUIRE(end != std::string::npos);
  auto start = l.rfind(' ', end);
  return std::stoull(l.substr(start + 1, end - start - 1));
}

std::uint64_t meminfo_cma_total(const std::string& meminfo) {
  const std::string l = find_after(meminfo, "CmaTotal:");
  return std::stoull(l.substr(9));
}

struct boot_alloc {
  std::uint64_t count, align, pfn;
  friend bool operator==(const boot_alloc&, const boot_alloc&) = default;
};

/// cma_alloc_finish events before the first workload step marker.
std::vector<boot_alloc> boot_time_allocs(const std::string& trace) {
  std::vector<boot_alloc> out;
  for (const auto& l : lines_of(trace)) {
    if (l.find("tracing_mark_write: step") != std::string::npos) break;
    if (l.find("cma_alloc_finish:") == std::string::npos) continue;
    auto field = [&](const std::string& k) {
      const auto at = l.find(" " + k + "=");
      return std::stoull(l.substr(at + k.size() + 2), nullptr, 0);
    };
    out.push_back({field("count"), field("align"), field("pfn")});
  }
  return out;
}

std::vector<std::string> dma_pool_lines(const std::string& dmesg) {
  std::vector<std::string> out;
  for (const auto& l : lines_of(dmesg))
    if (const auto at = l.find("DMA: preallocated"); at != std::string::npos)
      out.push_back(trim(l.substr(at)));
  return out;
}

/// The log with the lines that state the answer removed.
std::string without_answers(const std::string& dmesg) {
  std::string out;
  for (const auto& l : lines_of(dmesg)) {
    if (l.find("cma: Reserved") != std::string::npos || l.find("cma: Failed") != std::string::npos ||
        l.find("cma-reserved") != std::string::npos)
      continue;
    out += l + "\n";
  }
  return out;
}

cma::memblock memblock_from_log(const std::string& trace) {
  const auto r = cma::formats::memblock_debug::parse(without_answers(slurp(trace_dir(trace) + "/dmesg.txt")));
  REQUIRE(r);
  return r.log->mb;
}

cma::boot_config trace_config(const std::string& name) {
  const std::string d = trace_dir(name);
  cma::boot_config c;
  c.kernel = {6, 1, 192};
  c.a = cma::arch::arm64;
  c.cmdline = trim(slurp(d + "/cmdline.txt"));
  c.ram_size = qemu_ram(slurp(d + "/qemu_cmd.txt"));
  return c;
}

void check_against_trace(const std::string& name, const cma::boot_report& r) {
  const std::string d = trace_dir(name);
  const std::string dmesg = slurp(d + "/dmesg.txt");
  REQUIRE_FALSE(r.error);
  const std::string want_line = trim(find_after(dmesg, "cma: Reserved").empty()
                                         ? find_after(dmesg, "cma: Failed")
                                         : find_after(dmesg, "cma: Reserved"));
  CHECK(cma::default_area_line(r) == want_line);
  CHECK(r.memory_cma_reserved_k == memory_line_cma_k(dmesg));
  CHECK(r.cma_total_kb == meminfo_cma_total(slurp(d + "/meminfo.txt")));
  CHECK(r.pool_lines == dma_pool_lines(dmesg));
  std::vector<boot_alloc> predicted;
  for (const auto& a : r.areas)
    for (const auto& p : a.pools)
      if (p.request.from_cma) predicted.push_back({p.request.count, p.request.align, p.pfn});
  CHECK(predicted == boot_time_allocs(slurp(d + "/trace.txt")));
}

const std::vector<std::string> all_traces = {
    "place_default_1G", "place_range_1G2G", "place_fixed_0x50", "place_fixed_0x48", "place_cma0",
    "place_toobig",     "smoke",            "seed_cma1G",       "frag_run1",        "busy"};

using cmatest::boot;

bool has_warning(const cma::boot_report& r, const std::string& part) {
  for (const auto& w : r.warnings)
    if (w.find(part) != std::string::npos) return true;
  return false;
}

} // namespace

// ---------------------------------------------------------------------------
// memblock search

TEST_CASE("memblock top-down search takes the highest aligned fit of the highest free range",
          "[memblock]") {
  //   0x40000000                         0x80000000
  //   |--free--|##res##|------free-------|##res##|
  //            0x48000000-0x48300000      0x7ec00000-
  // Expect: 64 MiB at round_down(0x7ec00000 - 64M, 2M) = 0x7ac00000.
  cma::memblock mb;
  mb.add(0x40000000, G, 0);
  mb.reserve(0x48000000, 0x300000);
  mb.reserve(0x7ec00000, 0x1400000);
  CHECK(mb.find_in_range_node(64 * M, 2 * M, 0, 0x80000000, cma::numa_no_node) == 0x7ac00000);
  // Expect: a limit inside the top free range clamps the candidate below it.
  CHECK(mb.find_in_range_node(64 * M, 2 * M, 0, 0x60000000, cma::numa_no_node) == 0x5c000000);
  // Expect: a block larger than the top free range falls to the next one down.
  CHECK(mb.find_in_range_node(900 * M, 2 * M, 0, 0x80000000, cma::numa_no_node) == 0);
  CHECK(mb.find_in_range_node(100 * M, 2 * M, 0, 0x48000000, cma::numa_no_node) == 0x41c00000);
  CHECK(mb.is_valid());
}

TEST_CASE("memblock bottom-up search takes the lowest aligned fit", "[memblock]") {
  //   0x100000000         0x140000000
  //   |#|-----free--------|
  // Expect: round_up(0x100001000, 2M) = 0x100200000.
  cma::memblock mb;
  mb.add(0x100000000, G, 0);
  mb.reserve(0x100000000, 0x1000);
  mb.bottom_up = true;
  CHECK(mb.find_in_range_node(64 * M, 2 * M, 4 * G, 5 * G, cma::numa_no_node) == 0x100200000);
  // Expect: an empty window [4G, 4G) finds nothing.
  CHECK(mb.find_in_range_node(64 * M, 2 * M, 4 * G, 4 * G, cma::numa_no_node) == 0);
}

TEST_CASE("memblock never allocates the first page and merges adjacent reservations", "[memblock]") {
  cma::memblock mb;
  mb.add(0, 16 * M, 0);
  mb.bottom_up = true;
  CHECK(mb.find_in_range_node(4096, 4096, 0, 16 * M, cma::numa_no_node) == 4096);
  mb.reserve(0x1000, 0x1000);
  mb.reserve(0x2000, 0x1000);
  REQUIRE(mb.reserved().size() == 1);
  CHECK(mb.reserved()[0].size == 0x2000);
  mb.phys_free(0x1000, 0x800);
  CHECK(mb.reserved()[0].base == 0x1800);
  CHECK(mb.is_valid());
}

// ---------------------------------------------------------------------------
// Real traces

TEST_CASE("every trace's placement is predicted from its command line and RAM size (qemu-virt)",
          "[boot][trace]") {
  for (const auto& name : all_traces) {
    INFO("trace " << name);
    check_against_trace(name, cma::simulate_boot(trace_config(name)));
  }
}

TEST_CASE("every 1 GiB trace is predicted from the memblock=debug log of place_fixed_0x48",
          "[boot][trace][memblock_debug]") {
  const cma::memblock mb = memblock_from_log("place_fixed_0x48");
  for (const auto& name : all_traces) {
    cma::boot_config c = trace_config(name);
    if (c.ram_size != G) continue;
    INFO("trace " << name);
    c.memblock_state = mb;
    check_against_trace(name, cma::simulate_boot(c));
  }
}

TEST_CASE("place_fixed_0x48 fails because the initrd sits at 0x48000000", "[boot][trace]") {
  // Expect: "cma: Failed to reserve 64 MiB", and a warning naming the initrd.
  const auto r = cma::simulate_boot(trace_config("place_fixed_0x48"));
  CHECK(cma::default_area_line(r) == "cma: Failed to reserve 64 MiB");
  CHECK(has_warning(r, "initrd"));
  REQUIRE(r.areas.size() == 1);
  CHECK(r.areas[0].decl.ret == cma::ebusy);
}

TEST_CASE("the qemu-virt profile reproduces the reserved regions of the memblock=debug dump",
          "[machine][memblock_debug]") {
  const cma::memblock logged = memblock_from_log("place_fixed_0x48");
  const cma::memblock profile = cma::final_memblock(cma::qemu_virt(G));
  CHECK(profile.memory() == logged.memory());
  // The profile lumps the small top-of-RAM allocations into one region; below it
  // every region matches exactly.
  const auto& a = profile.reserved();
  const auto& b = logged.reserved();
  REQUIRE(a.size() >= 4);
  REQUIRE(b.size() >= 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(a[i] == b[i]);
  CHECK(a.back().end() == b.back().end());
  CHECK(a.back().base <= b[4].base);
}

TEST_CASE("a memblock=debug log keeps its CMA reservation out of the pre-CMA state",
          "[memblock_debug]") {
  // A synthetic arm64 6.1 log in the kernel's order: sparse_init, zone init, the
  // CMA reservation (answer line removed), then memblock_dump_all.
  const std::string log =
      "[    0.000000] memblock_reserve: [0x000000007ec00000-0x000000007fbfffff] memblock_alloc_range_nid+0xe8/0x17c\n"
      "[    0.000000] Initmem setup node 0 [mem 0x0000000040000000-0x000000007fffffff]\n"
      "[    0.000000] memblock_reserve: [0x000000007ac00000-0x000000007ebfffff] memblock_alloc_range_nid+0xe8/0x17c\n"
      "[    0.000000] MEMBLOCK configuration:\n"
      "[    0.000000]  memory size = 0x0000000040000000 reserved size = 0x0000000005000000\n"
      "[    0.000000]  memory.cnt  = 0x1\n"
      "[    0.000000]  memory[0x0]\t[0x0000000040000000-0x000000007fffffff], 0x0000000040000000 bytes on node 0 flags: 0x0\n"
      "[    0.000000]  reserved.cnt  = 0x1\n"
      "[    0.000000]  reserved[0x0]\t[0x000000007ac00000-0x000000007fbfffff], 0x0000000005000000 bytes flags: 0x0\n";
  const auto r = cma::formats::memblock_debug::parse(log);
  REQUIRE(r);
  REQUIRE(r.log->mb.reserved().size() == 1);
  CHECK(r.log->mb.reserved()[0].base == 0x7ec00000);
  CHECK(r.log->mb.reserved()[0].end() == 0x7fc00000);
  // Expect: the area is found again where the kernel put it.
  cma::boot_config c;
  c.cmdline = "cma=64M";
  c.memblock_state = r.log->mb;
  CHECK(cma::default_area_line(cma::simulate_boot(c)) == "cma: Reserved 64 MiB at 0x000000007ac00000");
}

TEST_CASE("a memblock=debug log without a dump is replayed up to the first CMA line",
          "[memblock_debug]") {
  const std::string log =
      "memblock_add: [0x0000000040000000-0x000000007fffffff] early_init_dt_add_memory_arch+0x1/0x2\n"
      "memblock_reserve: [0x0000000048000000-0x00000000480f3fff] arm64_memblock_init+0x1/0x2\n"
      "memblock_reserve: [0x0000000060000000-0x0000000063ffffff] cma_declare_contiguous_nid+0x1/0x2\n"
      "Kernel command line: console=ttyAMA0 cma=64M@0x60000000\n";
  const auto r = cma::formats::memblock_debug::parse(log);
  REQUIRE(r);
  CHECK(r.log->mb.reserved().size() == 1);
  REQUIRE(r.log->kernel_cmdline);
  CHECK(*r.log->kernel_cmdline == "console=ttyAMA0 cma=64M@0x60000000");
  CHECK_FALSE(cma::formats::memblock_debug::parse("no memblock lines here\n"));
}

TEST_CASE("a memblock description file is the dump's entry lines without the header",
          "[memblock_debug]") {
  const auto r = cma::formats::memblock_debug::parse("memory[0]  [0x40000000-0x7fffffff] on node 0\n"
                                           "reserved[0] [0x48000000-0x480f3fff]\n"
                                           "reserved[1] [0x7ec00000-0x7fffffff]\n");
  REQUIRE(r);
  CHECK(r.log->mb.end_of_dram() == 0x80000000);
  CHECK(r.log->mb.reserved().size() == 2);
  cma::boot_config c;
  c.cmdline = "cma=64M@0x48000000";
  c.memblock_state = r.log->mb;
  const auto b = cma::simulate_boot(c);
  CHECK(cma::default_area_line(b) == "cma: Failed to reserve 64 MiB");
  CHECK(has_warning(b, "reserved [0x0000000048000000-0x00000000480f3fff]"));
}

//  Regression (libFuzzer, fuzzer-parse_cmdline): a node number of many digits overflowed
//  an int while it was read.  Expect: the line still parses, the node left unknown (0),
//  and a plain node number is still read.
TEST_CASE("a memblock line with an absurd node number parses without overflow", "[memblock_debug]") {
  namespace mb = cma::formats::memblock_debug::detail_;
  const auto huge = mb::classify(" memory[0x0]\t[0x40000000-0x7fffffff], 0x40000000 bytes on node 99999999999999 flags: 0x0");
  CHECK(huge.kind == mb::mb_line_kind::dump_memory);
  CHECK(huge.nid == 0);
  CHECK(huge.start == 0x40000000);
  const auto two = mb::classify(" memory[0x0]\t[0x40000000-0x7fffffff], 0x40000000 bytes on node 12 flags: 0x0");
  CHECK(two.nid == 12);
}

// ---------------------------------------------------------------------------
// The field notes' 4.15 x86 boot

TEST_CASE("the field notes' 4.15 PC reserves cma=1G@1-2G at 0x40000000", "[boot][x86]") {
  // Expect (tests/data/field-notes-4.15.md): limit 0x140000000 from max_pfn_mapped,
  // the raw declaration line, then "Reserved 1024 MiB at 0x0000000040000000".
  const auto r = boot({4, 15, 0}, cma::arch::x86_64, 4 * G, "BOOT_IMAGE=/boot/vmlinuz ro cma=1G@1-2G");
  CHECK(r.arch_limit == 0x140000000ULL);
  std::vector<std::string> all;
  for (const auto& l : r.log) all.push_back(l.text);
  const std::vector<std::string> want = {
      "cma: early_cma(1G@1-2G)",
      "cma: dma_contiguous_reserve(limit 140000000)",
      "cma: dma_contiguous_reserve: reserving 1024 MiB for global area",
      "cma: cma_declare_contiguous(size 0x0000000040000000, base 0x0000000000000001, limit "
      "0x0000000080000000 alignment 0x0000000000000000)",
      "cma: Reserved 1024 MiB at 0x0000000040000000"};
  CHECK(all == want);
  CHECK(r.memory_cma_reserved_k == 1048576);
  CHECK(r.cma_total_kb == 1048576);
  REQUIRE(r.areas.size() == 1);
  CHECK(r.areas[0].decl.alignment == 4 * M);
  CHECK(r.areas[0].decl.base_pfn() == 0x40000);
  CHECK(r.areas[0].pools.empty()); // 4.15 x86 has no atomic pools
}

// ---------------------------------------------------------------------------
// Per-version rules

TEST_CASE("the minimum alignment is 4 MiB up to 5.18 and one pageblock from 5.19", "[declare]") {
  struct row {
    cma::kernel_version kv;
    cma::phys_addr_t align, size;
    const char* line;
  };
  const row rows[] = {
      // ≤ 5.10 arm64 declares before paging_init and sparse_init: the top of RAM.
      {{4, 15}, 4 * M, 12 * M, "cma: Reserved 12 MiB at 0x000000007f400000"},
      {{5, 10}, 4 * M, 12 * M, "cma: Reserved 12 MiB at 0x000000007f400000"},
      // 5.11+ declares after sparse_init: just under the memmap at 0x7ec00000.
      {{5, 18}, 4 * M, 12 * M, "cma: Reserved 12 MiB at 0x000000007e000000"},
      {{5, 19}, 2 * M, 10 * M, "cma: Reserved 10 MiB at 0x000000007e200000"},
      {{6, 1}, 2 * M, 10 * M, "cma: Reserved 10 MiB at 0x000000007e200000"},
      {{6, 6}, 2 * M, 10 * M, "cma: Reserved 10 MiB at 0x000000007e200000 on node -1"},
      {{6, 12}, 2 * M, 10 * M, "cma: Reserved 10 MiB at 0x000000007e200000 on node -1"},
      {{6, 15}, 2 * M, 10 * M, "cma: Reserved 10 MiB at 0x000000007e200000"},
  };
  for (const auto& r : rows) {
    INFO("kernel " << r.kv.str());
    const auto b = boot(r.kv, cma::arch::arm64, G, "cma=10M");
    REQUIRE(b.areas.size() == 1);
    CHECK(b.areas[0].decl.alignment == r.align);
    CHECK(b.areas[0].decl.size == r.size);
    CHECK(cma::default_area_line(b) == r.line);
    CHECK(has_warning(b, "rounded up") == (r.size != 10 * M));
  }
}

TEST_CASE("an unaligned fixed base is rounded up by 4.15 and rejected from 5.10", "[declare]") {
  const auto old = boot({4, 15}, cma::arch::arm64, G, "cma=64M@0x50100000");
  CHECK(cma::default_area_line(old) == "cma: Reserved 64 MiB at 0x0000000050400000");
  const auto now = boot({6, 1}, cma::arch::arm64, G, "cma=64M@0x50100000");
  CHECK(cma::default_area_line(now) == "cma: Failed to reserve 64 MiB");
  bool saw = false;
  for (const auto& l : now.log)
    saw = saw || l.text == "cma: Region at 0x0000000050100000 must be aligned to 0x0000000000200000 bytes";
  CHECK(saw);
}

TEST_CASE("x86 areas move to 4 GiB with the bottom-up rule of 5.12", "[declare][x86]") {
  // 8 GiB PC: RAM to 3 GiB, then 4 GiB..9 GiB.  Expect top of RAM before 5.12,
  // the first 2 MiB (4 MiB) block at 4 GiB from 5.12.
  struct row {
    cma::kernel_version kv;
    const char* line;
  };
  const row rows[] = {
      {{5, 10}, "cma: Reserved 64 MiB at 0x000000023c000000"},
      {{5, 11}, "cma: Reserved 64 MiB at 0x000000023c000000"},
      {{5, 12}, "cma: Reserved 64 MiB at 0x0000000100000000"},
      {{6, 1}, "cma: Reserved 64 MiB at 0x0000000100000000"},
      {{6, 12}, "cma: Reserved 64 MiB at 0x0000000100000000 on node -1"},
  };
  for (const auto& r : rows) {
    INFO("kernel " << r.kv.str());
    CHECK(cma::default_area_line(boot(r.kv, cma::arch::x86_64, 8 * G, "cma=64M")) == r.line);
  }
  // Expect: a window below 4 GiB keeps the top-down placement on every version.
  CHECK(cma::default_area_line(boot({6, 1}, cma::arch::x86_64, 4 * G, "cma=1G@1-2G")) ==
        "cma: Reserved 1024 MiB at 0x0000000040000000");
  // Expect: the x86 Kconfig default is 0 MiB, so no area and no line.
  CHECK(boot({6, 1}, cma::arch::x86_64, 4 * G, "quiet").areas.empty());
}

TEST_CASE("the bottom-up attempt ignores a base above 4 GiB", "[declare][x86]") {
  const auto r = boot({6, 1}, cma::arch::x86_64, 8 * G, "cma=64M@6G-8G");
  CHECK(cma::default_area_line(r) == "cma: Reserved 64 MiB at 0x0000000100000000");
  CHECK(has_warning(r, "ignored base"));
}

TEST_CASE("from 6.18 a user limit overrides the arm64 DMA limit", "[declare]") {
  // 8 GiB at 0x40000000 ends at 0x240000000; the DMA limit is 4 GiB.
  // Expect ≤ 6.17: limit min(6G, 4G) = 4G < 5G + 256M → "exceeds limit" failure.
  const auto old = boot({6, 12}, cma::arch::arm64, 8 * G, "cma=256M@5G-6G");
  CHECK(cma::default_area_line(old) == "cma: Failed to reserve 256 MiB on node -1");
  // Expect 6.18: limit 6G, and the bottom-up attempt from 4 GiB (gated on the
  // limit since 6.15) takes 0x100000000, below the requested base.
  const auto now = boot({6, 18}, cma::arch::arm64, 8 * G, "cma=256M@5G-6G");
  CHECK(cma::default_area_line(now) == "cma: Reserved 256 MiB at 0x0000000100000000");
  CHECK(has_warning(now, "above the ZONE_DMA limit"));
  CHECK(has_warning(now, "ignored base"));
  // Expect: a fixed area above the DMA limit is refused ≤ 6.17 and placed on 6.18.
  CHECK(cma::default_area_line(boot({6, 12}, cma::arch::arm64, 8 * G, "cma=256M@5G")) ==
        "cma: Failed to reserve 256 MiB on node -1");
  CHECK(cma::default_area_line(boot({6, 18}, cma::arch::arm64, 8 * G, "cma=256M@5G")) ==
        "cma: Reserved 256 MiB at 0x0000000140000000");
}

TEST_CASE("a fixed area beyond the limit is reserved by 4.15 and refused from 5.10", "[declare]") {
  // arm64 4 GiB at 0x40000000: the DMA limit is 4 GiB, RAM ends at 5 GiB.
  const auto old = boot({4, 15}, cma::arch::arm64, 4 * G, "cma=64M@0x110000000");
  CHECK(cma::default_area_line(old) == "cma: Reserved 64 MiB at 0x0000000110000000");
  const auto now = boot({5, 10}, cma::arch::arm64, 4 * G, "cma=64M@0x110000000");
  CHECK(cma::default_area_line(now) == "cma: Failed to reserve 64 MiB");
}

TEST_CASE("6.1 arm64 reserves cma=64M@0x10000000 below RAM and then oopses", "[boot][warnings]") {
  const auto r = boot({6, 1}, cma::arch::arm64, G, "cma=64M@0x10000000");
  CHECK(cma::default_area_line(r) == "cma: Reserved 64 MiB at 0x0000000010000000");
  CHECK(r.panics);
  CHECK(has_warning(r, "not inside RAM"));
  CHECK(r.memory_cma_reserved_k == 65536);
}

TEST_CASE("cma=0 declares nothing and the pools come from buddy", "[boot]") {
  const auto r = boot({6, 1}, cma::arch::arm64, G, "cma=0");
  CHECK(r.areas.empty());
  CHECK(r.cma_total_kb == 0);
  CHECK(r.pool_lines.size() == 3);
}

TEST_CASE("the DMA atomic pools scale with RAM: 128 KiB per GiB, clamped, order-aligned",
          "[dma_atomic_pool]") {
  struct row {
    cma::phys_addr_t ram;
    std::uint64_t count;
    unsigned align;
  };
  const row rows[] = {{G, 32, 5}, {2 * G, 64, 6}, {4 * G, 128, 7}, {512 * M, 32, 5}};
  for (const auto& r : rows) {
    INFO("RAM " << (r.ram >> 20) << " MiB");
    const auto b = boot({6, 1}, cma::arch::arm64, r.ram, "cma=256M");
    REQUIRE(b.areas.size() == 1);
    REQUIRE(b.areas[0].pools.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(b.areas[0].pools[i].request.count == r.count);
      CHECK(b.areas[0].pools[i].request.align == r.align);
      CHECK(b.areas[0].pools[i].pfn == b.areas[0].decl.base_pfn() + i * r.count);
    }
  }
  // 6.19: no GFP_KERNEL pool when ZONE_NORMAL is empty (all RAM below 4 GiB).
  const auto v619 = boot({6, 19}, cma::arch::arm64, G, "cma=64M");
  REQUIRE(v619.areas.size() == 1);
  CHECK(v619.areas[0].pools.size() == 2);
  // coherent_pool= fixes the size.
  const auto fixed = boot({6, 1}, cma::arch::arm64, G, "cma=64M coherent_pool=1M");
  CHECK(fixed.areas[0].pools[0].request.count == 256);
}

TEST_CASE("pernuma areas are declared before the global one on arm64 6.1 and after it on 5.10",
          "[dma_contiguous_reserve]") {
  const auto v61 = boot({6, 1}, cma::arch::arm64, G, "cma=64M cma_pernuma=32M");
  REQUIRE(v61.areas.size() == 2);
  CHECK(v61.areas[0].decl.name == "pernuma0");
  // Expect: pernuma0 before sparse_init, right under the page tables; the memmap
  // then goes under it (0x7cc00000) and the global area under the memmap.
  CHECK(v61.areas[0].decl.base == 0x7dc00000);
  CHECK(v61.areas[1].decl.base == 0x78c00000);
  CHECK(v61.cma_total_kb == 96 * 1024);
  const auto v510 = boot({5, 10}, cma::arch::arm64, G, "cma=64M cma_pernuma=32M");
  REQUIRE(v510.areas.size() == 2);
  CHECK(v510.areas[0].decl.name == "reserved");
  // x86 before 6.6 has no pernuma areas.
  CHECK(boot({6, 1}, cma::arch::x86_64, 8 * G, "cma=64M cma_pernuma=32M").areas.size() == 1);
  CHECK(boot({6, 6}, cma::arch::x86_64, 8 * G, "cma=64M cma_pernuma=32M").areas.size() == 2);
}

// ---------------------------------------------------------------------------
// issue 10 #11/#12: boot edge cases, each as the kernel of the version does it

//  Regression: `cma=18446744073709551615` printed "Reserved 0 MiB".  That value is
//  size_cmdline's "unset" -1: the kernel reserves the Kconfig default.
TEST_CASE("cma=2^64-1 reserves the Kconfig default as if no cma= were given", "[boot]") {
  const auto r = boot({6, 1}, cma::arch::arm64, G, "cma=18446744073709551615");
  CHECK(cma::default_area_line(r) == "cma: Reserved 64 MiB at 0x000000007ac00000");
  REQUIRE(r.areas.size() == 1);
  CHECK(r.areas[0].why == "Kconfig default (64 MiB)");
}

//  Regression: a size that ALIGN() wraps to 0 was "Reserved 0 MiB".  The kernel
//  reserves nothing and cma_init_reserved_mem() refuses size 0: "Failed to reserve
//  0 MiB", -EINVAL, CmaTotal 0 (4.15 and 6.1 alike; 6.6 names the node).
TEST_CASE("a cma= size that rounds up to 0 fails with Failed to reserve 0 MiB", "[boot][declare]") {
  for (const cma::kernel_version kv : {cma::kernel_version{4, 15}, cma::kernel_version{6, 1}}) {
    INFO(kv.str());
    const auto r = boot(kv, cma::arch::arm64, G, "cma=18446744073709551614");
    CHECK(cma::default_area_line(r) == "cma: Failed to reserve 0 MiB");
    REQUIRE(r.areas.size() == 1);
    CHECK(r.areas[0].decl.ret == cma::einval);
    CHECK(r.cma_total_kb == 0);
    CHECK(r.memory_cma_reserved_k == 0);
    CHECK_FALSE(r.pool_lines.empty()); // the pools come from buddy
    for (const auto& w : r.warnings) CHECK(w.find("rounded up to 0") == std::string::npos);
  }
  CHECK(cma::default_area_line(boot({6, 6}, cma::arch::arm64, G, "cma=0xfffffffffff00000")) ==
        "cma: Failed to reserve 0 MiB on node -1");
  // Fixed: limit = base + size wraps below base; 6.1 says so before failing.
  const auto f = boot({6, 1}, cma::arch::arm64, G, "cma=18446744073709551614@0x50000000");
  CHECK(cma::default_area_line(f) == "cma: Failed to reserve 0 MiB");
  REQUIRE(f.areas.size() == 1);
  REQUIRE(f.areas[0].decl.lines.size() == 2);
  CHECK(f.areas[0].decl.lines[0] ==
        "cma: Size (0x0000000000000000) of region at 0x0000000050000000 exceeds limit (0x000000004fe00000)");
}

//  Regression: `--machine pc` with an extreme --mem printed inverted RAM ranges
//  (sz_4g + size - 3 GiB overflowed).  Every profile now states the RAM it can hold.
TEST_CASE("a machine profile refuses RAM it cannot hold instead of overflowing", "[boot][machine]") {
  CHECK(boot({6, 1}, cma::arch::x86_64, 1ULL << 63, "").error);
  CHECK(boot({6, 1}, cma::arch::x86_64, ~0ULL - 4095, "").error);
  CHECK(boot({6, 1}, cma::arch::x86_64, 1024 * G, "").error);
  CHECK(boot({6, 1}, cma::arch::arm64, 256 * G, "").error);
  CHECK(boot({6, 1}, cma::arch::arm64, 32 * M, "").error);
  CHECK(boot({6, 1}, cma::arch::arm64, 2048, "").error); // `--mem 2048` read as bytes, once
  REQUIRE(cma::machine_ram_error("pc", 1024 * G));
  CHECK(cma::machine_ram_error("pc", 1024 * G)->find("1023 GiB") != std::string::npos);
  CHECK(cma::machine_ram_error("qemu-virt", 256 * G)->find("255 GiB") != std::string::npos);
  // At the bounds the ranges are in order and the area lands inside RAM.
  for (const auto& [a, ram] : {std::pair{cma::arch::x86_64, 1023 * G}, std::pair{cma::arch::arm64, 255 * G},
                               std::pair{cma::arch::x86_64, 64 * M}, std::pair{cma::arch::arm64, 64 * M}}) {
    INFO(cma::arch_name(a) << " " << (ram >> 20) << " MiB");
    const auto r = boot({6, 1}, a, ram, "cma=16M");
    REQUIRE_FALSE(r.error);
    REQUIRE(r.areas.size() == 1);
    CHECK(r.areas[0].decl.ok());
    const auto m = cma::machine_by_name(a == cma::arch::arm64 ? "qemu-virt" : "pc", ram);
    REQUIRE(m);
    cma::phys_addr_t prev_end = 0, total = 0;
    for (const auto& reg : m->mb.memory()) {
      CHECK(reg.base >= prev_end);
      CHECK(reg.end() > reg.base);
      prev_end = reg.end();
      total += reg.size;
    }
    CHECK(total <= ram);
  }
}

//  Regression: `--arch arm64 --machine pc` was accepted with a note.  A profile is
//  one machine of one arch; the other arch's rules on it model no real boot.
TEST_CASE("a machine profile of the other architecture is refused", "[boot][machine]") {
  cma::boot_config c;
  c.a = cma::arch::arm64;
  c.machine = "pc";
  c.ram_size = G;
  const auto r = cma::simulate_boot(c);
  REQUIRE(r.error);
  CHECK(r.error->find("x86_64 machine") != std::string::npos);
  c.a = cma::arch::x86_64;
  c.machine = "qemu-virt";
  CHECK(cma::simulate_boot(c).error);
  c.machine = "pc";
  CHECK_FALSE(cma::simulate_boot(c).error);
}

//  Regression: with a memblock state and a different RAM size the report printed
//  the RAM size given.  The memblock state is what the kernel saw: it wins, and a
//  note names the size that was ignored.
TEST_CASE("the memblock state's RAM wins over a RAM size given beside it", "[boot][memblock_debug]") {
  cma::boot_config c = trace_config("place_default_1G");
  c.memblock_state = memblock_from_log("place_fixed_0x48");
  c.ram_size = 2 * G;
  const auto r = cma::simulate_boot(c);
  CHECK(r.ram_size == G);
  bool noted = false;
  for (const auto& n : r.notes) noted = noted || n.find("(2048 MiB) is ignored") != std::string::npos;
  CHECK(noted);
  check_against_trace("place_default_1G", r);
  c.ram_size = G;
  for (const auto& n : cma::simulate_boot(c).notes) CHECK(n.find("is ignored") == std::string::npos);
}

//  Regression: `--kernel 3.10` was modelled as 4.15 without a word.
TEST_CASE("a kernel older than every profile is named in the boot report's notes", "[boot][profile]") {
  const auto old = boot({3, 10}, cma::arch::arm64, G, "cma=64M");
  REQUIRE_FALSE(old.notes.empty());
  CHECK(old.notes.front() == "kernel 3.10 is older than every modelled profile (4.15): the 4.15 rules are used");
  for (const auto& n : boot({4, 15}, cma::arch::arm64, G, "cma=64M").notes)
    CHECK(n.find("older than every modelled profile") == std::string::npos);
}

//  Regression: a command line longer than COMMAND_LINE_SIZE was read whole; the
//  kernel never sees a cma= after its first 2047 characters.
TEST_CASE("a cma= beyond the kernel's 2047 command-line characters is not applied", "[boot][early_cma]") {
  const auto r = boot({6, 1}, cma::arch::arm64, G, std::string(2100, 'x') + " cma=128M");
  REQUIRE(r.areas.size() == 1);
  CHECK(r.areas[0].why == "Kconfig default (64 MiB)");
}
