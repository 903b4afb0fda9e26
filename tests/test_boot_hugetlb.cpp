// Tests for cma/boot/hugetlb_cma.hpp (`hugetlb_cma=`), the 6.15+ multi-range
// declaration in cma/boot/cma_declare_contiguous.hpp, and their place in
// cma/boot/boot.hpp.
//
// Ground truth: tests/data/boot/hugetlb (real 6.1.192, 6.12.118 and 7.3.4 boots on
// QEMU virt; see its README).  Every other expected value is worked out by hand from
// the kernel sources named in hugetlb_cma.hpp, never taken from the model's output.
#include "boot_helpers.hpp"

#include <cma/boot/boot.hpp>
#include <cma/formats/memblock_debug.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using cmatest::lines_of;
using cmatest::slurp;
using cmatest::M;
using cmatest::G;


std::string fixture_dir() { return std::string(CMASIM_TEST_DATA) + "/boot/hugetlb"; }

/// "[    0.000000] cma: Reserved …" → "cma: Reserved …" for the cma:/hugetlb_cma: lines.
std::vector<std::string> kernel_cma_lines(const std::string& log) {
  std::vector<std::string> out;
  for (const auto& l : lines_of(log)) {
    if (l.empty() || l[0] != '[') continue;
    const auto close = l.find("] ");
    if (close == std::string::npos) continue;
    const std::string text = l.substr(close + 2);
    if (text.rfind("cma: ", 0) == 0 || text.rfind("hugetlb_cma: ", 0) == 0) out.push_back(text);
  }
  return out;
}

std::vector<std::string> model_cma_lines(const cma::boot_report& r) {
  std::vector<std::string> out;
  for (const auto& l : r.log)
    if (!l.debug && (l.text.rfind("cma: ", 0) == 0 || l.text.rfind("hugetlb_cma: ", 0) == 0))
      out.push_back(l.text);
  return out;
}

/// The fixture's qemu line: "-m 3G" and the -append arguments after memblock=debug.
struct qemu_line {
  cma::phys_addr_t ram = 0;
  std::string args;
};

qemu_line read_qemu_line(const std::string& log) {
  const std::string first = lines_of(log).at(0);
  qemu_line q;
  const auto m = first.find(" -m ");
  REQUIRE(m != std::string::npos);
  q.ram = cma::memparse(std::string_view(first).substr(m + 4)).value;
  const std::string key = "memblock=debug ";
  const auto a = first.find(key);
  REQUIRE(a != std::string::npos);
  q.args = first.substr(a + key.size());
  if (!q.args.empty() && q.args.back() == '\'') q.args.pop_back();
  return q;
}

cma::kernel_version version_of(const std::string& file_name) {
  return *cma::kernel_version::parse(file_name.substr(0, file_name.find('-')));
}

cma::boot_report boot(const cma::kernel_version& kv, cma::phys_addr_t ram, const std::string& cmdline,
                      cma::arch a = cma::arch::arm64) {
  return cmatest::boot(kv, a, ram, cmdline);
}

const cma::boot_area* area(const cma::boot_report& r, const std::string& name) {
  for (const auto& a : r.areas)
    if (a.decl.name == name) return &a;
  return nullptr;
}

std::vector<std::string> area_names(const cma::boot_report& r) {
  std::vector<std::string> out;
  for (const auto& a : r.areas) out.push_back(a.decl.name);
  return out;
}

} // namespace

// ---------------------------------------------------------------------------
// Parsing (cmdline_parse_hugetlb_cma, early_param)

TEST_CASE("hugetlb_cma=<size> is read by memparse in every version that has it", "[hugetlb][parse]") {
  for (const cma::kernel_version kv : {cma::kernel_version{5, 10}, {6, 1}, {6, 12}, {7, 3}}) {
    INFO(kv.str());
    const auto p = cma::parse_hugetlb_cma_params("console=ttyAMA0 hugetlb_cma=1G", kv);
    CHECK(p.given);
    CHECK(p.size == G);
    CHECK(p.size_in_node.empty());
  }
  // Expect: 4.15 has no hugetlb_cma (5.7 added it); the word is noted and ignored.
  const auto old = cma::parse_hugetlb_cma_params("hugetlb_cma=1G", {4, 15});
  CHECK(old.size == 0);
  REQUIRE_FALSE(old.notes.empty());
  CHECK(old.notes[0].find("no effect on 4.15") != std::string::npos);
}

TEST_CASE("per-node hugetlb_cma adds the node sizes to the total up to 6.x and not on 5.10",
          "[hugetlb][parse]") {
  // Expect (6.1/6.12 mm/hugetlb.c): "0:1G,1:2G" → node 0 1G, node 1 2G, total 3G.
  const auto p = cma::parse_hugetlb_cma_params("hugetlb_cma=0:1G,1:2G", {6, 12});
  CHECK(p.size == 3 * G);
  CHECK(p.size_in_node.at(0) == G);
  CHECK(p.size_in_node.at(1) == 2 * G);
  // Expect (5.10: plain memparse): "0:1G" reads as 0 bytes.
  CHECK(cma::parse_hugetlb_cma_params("hugetlb_cma=0:1G", {5, 10}).size == 0);
  // Expect (7.3 mm/hugetlb_cma.c): a node item zeroes the plain total; the total is
  // summed later by hugetlb_cma_reserve().
  const auto n = cma::parse_hugetlb_cma_params("hugetlb_cma=0:1G,1:2G", {7, 3});
  CHECK(n.size == 0);
  CHECK(n.size_in_node.at(1) == 2 * G);
}

TEST_CASE("an item that is not <nid>: makes the whole value be memparsed from its start",
          "[hugetlb][parse]") {
  //   "0:1G,2G": node 0 gets 1G, then "2G" is not "<n>:" and memparse("0:1G,2G") = 0
  // Expect: on 6.12 the total ends 0 (node 0 still 1G), so nothing is reserved at all;
  // on 7.3 the nodes are cleared too.
  const auto p = cma::parse_hugetlb_cma_params("hugetlb_cma=0:1G,2G", {6, 12});
  CHECK(p.size == 0);
  CHECK(p.size_in_node.at(0) == G);
  const auto r = boot({6, 12}, 3 * G, "hugetlb_cma=0:1G,2G");
  CHECK(area(r, "hugetlb0") == nullptr);
  const auto q = cma::parse_hugetlb_cma_params("hugetlb_cma=0:1G,2G", {7, 3});
  CHECK(q.size == 0);
  CHECK(q.size_in_node.empty());
}

TEST_CASE("a node number is read like sscanf %lu: no sign, MAX_NUMNODES stops the list",
          "[hugetlb][parse]") {
  // Expect: "64:1G" is beyond MAX_NUMNODES (64): parsing stops, nothing set.
  const auto big = cma::parse_hugetlb_cma_params("hugetlb_cma=64:1G", {6, 1});
  CHECK(big.size == 0);
  CHECK(big.size_in_node.empty());
  // Expect: "+0:1G" is not a number for the kernel's vsscanf (no '+' for %lu): stop.
  CHECK(cma::parse_hugetlb_cma_params("hugetlb_cma=+0:1G", {6, 1}).size_in_node.empty());
}

TEST_CASE("percentages are 7.x only; 6.12 memparses 50% as 50 bytes", "[hugetlb][parse]") {
  CHECK(cma::parse_hugetlb_cma_params("hugetlb_cma=50%", {7, 3}).percent == 50);
  CHECK(cma::parse_hugetlb_cma_params("hugetlb_cma=50%", {6, 12}).size == 50);
  // Expect (7.3): above 100 is refused with the kernel's warning.
  const auto bad = cma::parse_hugetlb_cma_params("hugetlb_cma=101%", {7, 3});
  CHECK(bad.percent == 0);
  REQUIRE(bad.messages.size() == 1);
  CHECK(bad.messages[0] == "hugetlb_cma: invalid percentage 101");
  // Expect: 50% of 6 GiB = 3 GiB, a multiple of 1 GiB: "reserve 3072 MiB (50%), …".
  const auto r = boot({7, 3}, 6 * G, "hugetlb_cma=50%");
  bool seen = false;
  for (const auto& l : r.log) seen |= l.text == "hugetlb_cma: reserve 3072 MiB (50%), up to 3072 MiB per node";
  CHECK(seen);
}

TEST_CASE("hugetlb_cma_only is a parameter from 6.15; 6.1 and 6.12 call it unknown",
          "[hugetlb][parse]") {
  // The 6.1 and 6.12 boots of `hugetlb_cma=1G hugetlb_cma_only` printed
  // "Unknown kernel command line parameters "hugetlb_cma_only", will be passed to user space."
  const auto p = cma::parse_hugetlb_cma_params("hugetlb_cma=1G hugetlb_cma_only", {6, 12});
  CHECK_FALSE(p.only);
  REQUIRE_FALSE(p.notes.empty());
  CHECK(p.notes[0].find("not a parameter of 6.12") != std::string::npos);
  CHECK(cma::parse_hugetlb_cma_params("hugetlb_cma=1G hugetlb_cma_only=1", {7, 3}).only);
}

// ---------------------------------------------------------------------------
// Version rules

TEST_CASE("the hugetlb area is aligned to 2 MiB from 5.16 to 6.9 and to the gigantic page otherwise",
          "[hugetlb][rules]") {
  // Expect (mm/hugetlb.c): 6.1 passes PAGE_SIZE << HUGETLB_PAGE_ORDER, 6.12 PAGE_SIZE << order;
  // both pass order_per_bit HUGETLB_PAGE_ORDER (9).  5.10 aligned to the gigantic page, opb 0.
  CHECK_FALSE(cma::hugetlb_cma_rules_for({6, 1}).align_gigantic);
  CHECK(cma::hugetlb_cma_rules_for({6, 12}).align_gigantic);
  CHECK(cma::hugetlb_cma_rules_for({5, 10}).align_gigantic);
  CHECK(cma::hugetlb_cma_rules_for({6, 1}).order_per_bit == 9);
  CHECK(cma::hugetlb_cma_rules_for({5, 10}).order_per_bit == 0);
  CHECK(cma::hugetlb_cma_rules_for({7, 3}).multi_range);
  CHECK_FALSE(cma::hugetlb_cma_rules_for({6, 12}).multi_range);
}

// ---------------------------------------------------------------------------
// Real boots

TEST_CASE("every real hugetlb_cma boot is predicted line for line from -m and -append (qemu-virt)",
          "[hugetlb][boot][real]") {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(fixture_dir())) {
    const std::string name = e.path().filename().string();
    if (name.find(".log") == std::string::npos && name.find(".excerpt.txt") == std::string::npos) continue;
    INFO(name);
    const std::string log = slurp(e.path().string());
    const qemu_line q = read_qemu_line(log);
    const auto r = boot(version_of(name), q.ram, q.args);
    REQUIRE_FALSE(r.error);
    CHECK(model_cma_lines(r) == kernel_cma_lines(log));
    ++n;
  }
  CHECK(n >= 20);
}

TEST_CASE("cma=32M hugetlb_cma=1G at 3 GiB: both bases per version", "[hugetlb][boot][real]") {
  //  0x40000000                      0x80000000           0xc0000000           0x100000000
  //  |#img#|   free                  |                    |                |###| page tables
  // 6.1:  hugetlb0 [0xbf800000, 0xff800000) (2 MiB aligned, top-down), memmap 48 MiB under it,
  //       reserved at 0xba800000.
  // 6.12: hugetlb0 [0x80000000, 0xc0000000) (1 GiB aligned), memmap at the top, reserved 0xfa800000.
  // 7.3:  reserved first at 0xfd800000 (memmap comes later), then hugetlb0 at 0x80000000.
  // Expect: the bases of the real boots (6.x-3G-cma32M-hugetlb1G.log).
  struct row {
    cma::kernel_version kv;
    cma::phys_addr_t hugetlb, global;
    std::vector<std::string> order;
  };
  for (const row& w : {row{{6, 1}, 0xbf800000, 0xba800000, {"hugetlb0", "reserved"}},
                       row{{6, 12}, 0x80000000, 0xfa800000, {"hugetlb0", "reserved"}},
                       row{{7, 3}, 0x80000000, 0xfd800000, {"reserved", "hugetlb0"}}}) {
    INFO(w.kv.str());
    const auto r = boot(w.kv, 3 * G, "cma=32M hugetlb_cma=1G");
    const auto* h = area(r, "hugetlb0");
    const auto* d = area(r, "reserved");
    REQUIRE(h);
    REQUIRE(d);
    CHECK(h->decl.base == w.hugetlb);
    CHECK(h->decl.size == G);
    CHECK(h->decl.order_per_bit == 9);
    CHECK(d->decl.base == w.global);
    CHECK(area_names(r) == w.order);
    // Expect (Memory: line of all three boots): 1081344K cma-reserved = 1 GiB + 32 MiB.
    CHECK(r.memory_cma_reserved_k == 1081344);
  }
}

TEST_CASE("6.1's 1 GiB hugetlb area holds no 1 GiB-aligned GiB; 6.12's holds one",
          "[hugetlb][gigantic]") {
  //   6.1:  [0xbf800000 ............................ 0xff800000)
  //              0xc0000000 ──── 1 GiB ──── 0x100000000  ← ends past the area
  //   6.12: [0x80000000 ─────── 1 GiB ─────── 0xc0000000)
  // Expect: largest order 17 (512 MiB at 0xc0000000) and no 1 GiB page on 6.1; order 18 on 6.12.
  CHECK(cma::detail::max_aligned_order(0xbf800000, G, 18) == 17);
  CHECK(cma::detail::aligned_windows(0xbf800000, G, 18) == 0);
  CHECK(cma::detail::max_aligned_order(0x80000000, G, 18) == 18);
  CHECK(cma::detail::aligned_windows(0x80000000, G, 18) == 1);
  const auto r61 = boot({6, 1}, 3 * G, "hugetlb_cma=1G");
  REQUIRE(area(r61, "hugetlb0"));
  CHECK(area(r61, "hugetlb0")->hugetlb->max_alloc_order == 17);
  bool warned = false;
  for (const auto& w : r61.warnings) warned |= w.find("can never be allocated") != std::string::npos;
  CHECK(warned);
  const auto r612 = boot({6, 12}, 3 * G, "hugetlb_cma=1G");
  REQUIRE(area(r612, "hugetlb0"));
  CHECK(area(r612, "hugetlb0")->hugetlb->max_alloc_order == 18);
  // Expect (6.1 at 6 GiB): the bottom-up attempt from 4 GiB gives 0x100000000, 1 GiB aligned.
  const auto r61_6g = boot({6, 1}, 6 * G, "cma=32M hugetlb_cma=1G");
  REQUIRE(area(r61_6g, "hugetlb0"));
  CHECK(area(r61_6g, "hugetlb0")->decl.base == 0x100000000);
  CHECK(area(r61_6g, "hugetlb0")->hugetlb->max_alloc_order == 18);
}

TEST_CASE("a size that is not a multiple of 1 GiB is rounded up by 6.1 and refused by 7.3",
          "[hugetlb][boot][real]") {
  // Expect (6.1-3G-hugetlb1536M): 2048 MiB at 0x7f800000; (7.3): nothing reserved.
  const auto r61 = boot({6, 1}, 3 * G, "hugetlb_cma=1536M");
  REQUIRE(area(r61, "hugetlb0"));
  CHECK(area(r61, "hugetlb0")->decl.size == 2 * G);
  CHECK(area(r61, "hugetlb0")->decl.base == 0x7f800000);
  CHECK(area(boot({7, 3}, 3 * G, "hugetlb_cma=1536M"), "hugetlb0") == nullptr);
}

TEST_CASE("a hugetlb area crossing the 4 GiB zone boundary is declared but never activated",
          "[hugetlb][boot][real]") {
  // Expect (6.1-6G-cma64M-hugetlb3G): 3072 MiB at 0xff200000, then "CMA area hugetlb0 could
  // not be activated"; it counts in the Memory: line (3211264K) but not in CmaTotal.
  const auto r = boot({6, 1}, 6 * G, "cma=64M hugetlb_cma=3G");
  const auto* h = area(r, "hugetlb0");
  REQUIRE(h);
  CHECK(h->decl.base == 0xff200000);
  CHECK_FALSE(h->activated);
  CHECK(r.memory_cma_reserved_k == 3211264);
  CHECK(r.cma_total_kb == 64 * 1024);
}

TEST_CASE("from the log's memblock state the hugetlb area lands where the kernel put it",
          "[hugetlb][boot][memblock_debug]") {
  // The parser takes the state before the FIRST CMA reservation (the hugetlb one on 6.x)
  // and undoes every later event: the area itself must not be in it.
  for (const std::string name : {"6.1-3G-cma32M-hugetlb1G.log", "6.12-3G-cma32M-hugetlb1G.log",
                                 "6.1-2G-cma64M-hugetlb1G.log", "6.12-2G-cma64M-hugetlb1G.log"}) {
    INFO(name);
    const std::string log = slurp(fixture_dir() + "/" + name);
    const auto parsed = cma::formats::memblock_debug::parse(log);
    REQUIRE(parsed);
    CHECK_FALSE(parsed.log->mb.is_region_reserved(0x80000000, G / 2)); // inside every hugetlb area
    cma::boot_config c;
    c.kernel = version_of(name);
    c.cmdline = read_qemu_line(log).args;
    c.memblock_state = parsed.log->mb;
    const auto r = cma::simulate_boot(c);
    const auto want = kernel_cma_lines(log);
    const auto got = model_cma_lines(r);
    // The hugetlb lines come first on 6.x and need nothing but the state before them;
    // the global area's line (last) needs the memmap, which the log state lacks.
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i + 1 < want.size(); ++i) CHECK(got[i] == want[i]);
  }
}

TEST_CASE("from the log, the default area is found again once the hugetlb area is in the state",
          "[hugetlb][boot][memblock_debug]") {
  // Keep the hugetlb reservation as an ordinary memblock_reserve (drop only its CMA lines):
  // the state before dma_contiguous_reserve then has it and the memmap, as the kernel had.
  for (const std::string name : {"6.1-3G-cma32M-hugetlb1G.log", "6.12-3G-cma32M-hugetlb1G.log"}) {
    INFO(name);
    const std::string log = slurp(fixture_dir() + "/" + name);
    // The global area's own memblock_reserve stays: it follows the "Initmem setup node"
    // line, and the parser undoes what follows that line.
    std::string kept;
    for (const auto& l : lines_of(log))
      if (l.find("hugetlb_cma:") == std::string::npos && l.find("cma: Reserved") == std::string::npos &&
          l.find("cma-reserved") == std::string::npos)
        kept += l + "\n";
    const auto parsed = cma::formats::memblock_debug::parse(kept);
    REQUIRE(parsed);
    cma::boot_config c;
    c.kernel = version_of(name);
    c.cmdline = "cma=32M";
    c.memblock_state = parsed.log->mb;
    const std::string want = version_of(name) == cma::kernel_version{6, 1}
                                 ? "cma: Reserved 32 MiB at 0x00000000ba800000"
                                 : "cma: Reserved 32 MiB at 0x00000000fa800000 on node -1";
    CHECK(cma::default_area_line(cma::simulate_boot(c)) == want);
  }
}

// ---------------------------------------------------------------------------
// Order relative to the other areas

TEST_CASE("arm64 5.10 declares the global area first, 6.1 hugetlb before pernuma and global, 7.x global first",
          "[hugetlb][order]") {
  // Expect (KERNEL-FACTS §6.5; 7.3 boots): the area order below.
  CHECK(area_names(boot({5, 10}, 3 * G, "cma=32M hugetlb_cma=1G cma_pernuma=16M")) ==
        std::vector<std::string>{"reserved", "hugetlb0", "pernuma0"});
  CHECK(area_names(boot({6, 1}, 3 * G, "cma=32M hugetlb_cma=1G cma_pernuma=16M")) ==
        std::vector<std::string>{"hugetlb0", "pernuma0", "reserved"});
  CHECK(area_names(boot({6, 12}, 3 * G, "cma=32M hugetlb_cma=1G")) ==
        std::vector<std::string>{"hugetlb0", "reserved"});
  CHECK(area_names(boot({7, 3}, 3 * G, "cma=32M hugetlb_cma=1G")) ==
        std::vector<std::string>{"reserved", "hugetlb0"});
  // x86 (setup_arch): dma_contiguous_reserve, then hugetlb_cma_reserve.
  CHECK(area_names(boot({6, 1}, 8 * G, "cma=32M hugetlb_cma=1G", cma::arch::x86_64)) ==
        std::vector<std::string>{"reserved", "hugetlb0"});
}

TEST_CASE("5.10 aligns the hugetlb area to 1 GiB with order_per_bit 0", "[hugetlb][order]") {
  // Expect: 5.10 reserves the global area in arm64_memblock_init (before the page tables),
  // then hugetlb0 1 GiB-aligned: the free GiB [0x80000000, 0xc0000000) under the top.
  const auto r = boot({5, 10}, 3 * G, "hugetlb_cma=1G");
  const auto* h = area(r, "hugetlb0");
  REQUIRE(h);
  CHECK(h->decl.base % G == 0);
  CHECK(h->decl.order_per_bit == 0);
}

// ---------------------------------------------------------------------------
// 6.15+ multi-range declaration

TEST_CASE("cma_declare_contiguous_multi takes the largest ranges above 4 GiB when one block fails",
          "[hugetlb][multi]") {
  //  RAM [1G, 9G); reserved: [1G, 4G+512M) and [6G, 6G+64M) and [8G, 9G)
  //   4G        4.5G               6G  6G+64M           8G       9G
  //   |#########|----- 1.5G -------|##|----- 1.94G -----|########|
  // 1 GiB-aligned: [5G, 6G) = 1 GiB and [7G, 8G) = 1 GiB; no 2 GiB block anywhere.
  // Expect: the single-range try fails (-ENOMEM), then the two 1 GiB ranges, base order,
  // "cma: Reserved 2048 MiB in 2 ranges".
  cma::memblock mb;
  mb.add(G, 8 * G, 0);
  mb.reserve(G, 3 * G + 512 * M);
  mb.reserve(6 * G, 64 * M);
  mb.reserve(8 * G, G);
  const auto o = cma::cma_declare_contiguous_multi(mb, 2 * G, G, 9, "hugetlb0", 0, {7, 3});
  REQUIRE(o.ok());
  REQUIRE(o.ranges.size() == 2);
  CHECK(o.ranges[0] == std::pair<cma::phys_addr_t, cma::phys_addr_t>{5 * G, G});
  CHECK(o.ranges[1] == std::pair<cma::phys_addr_t, cma::phys_addr_t>{7 * G, G});
  REQUIRE_FALSE(o.lines.empty());
  CHECK(o.lines.back() == "cma: Reserved 2048 MiB in 2 ranges");
  CHECK(mb.is_region_reserved(5 * G, G));
  CHECK(mb.is_valid());
}

TEST_CASE("cma_declare_contiguous_multi ignores a free range that starts below 4 GiB",
          "[hugetlb][multi]") {
  //  RAM [1G, 6G); reserved [2G, 2G+64M) and [5G, 5G+64M):
  //  the free range [2G+64M, 5G) starts below 4 GiB, so the kernel skips it whole.
  // Expect: only [5G+64M → 6G) is considered: 0 whole GiB; "Failed to reserve 2048 MiB".
  cma::memblock mb;
  mb.add(G, 5 * G, 0);
  mb.reserve(2 * G, 64 * M);
  mb.reserve(5 * G, 64 * M);
  mb.reserve(G, G);
  const auto o = cma::cma_declare_contiguous_multi(mb, 3 * G, G, 9, "hugetlb0", 0, {7, 3});
  CHECK(o.ret == cma::enomem);
  CHECK(o.lines.back() == "cma: Failed to reserve 3072 MiB");
}

TEST_CASE("the kernel's list insertion is not a sort and the model keeps its order", "[hugetlb][multi]") {
  // list_insert_sorted(revsizecmp): insert before the first entry larger than the new
  // one, else before the last.  Sizes 10, 20, 5 → [20, 10], then 5 goes before 20.
  std::vector<int> l;
  auto larger = [](int a, int b) { return a > b; };
  cma::detail::cma_list_insert_sorted(l, 10, larger);
  cma::detail::cma_list_insert_sorted(l, 20, larger);
  CHECK(l == std::vector<int>{20, 10});
  cma::detail::cma_list_insert_sorted(l, 5, larger);
  CHECK(l == std::vector<int>{5, 20, 10});
}
