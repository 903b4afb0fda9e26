// tests/test_device.cpp — the files the kernel shows about CMA (include/cma/device/):
// debugfs (mm/cma_debug.c), sysfs (mm/cma_sysfs.c), /proc/meminfo and /proc/vmstat,
// byte for byte per version, the debugfs alloc/free write semantics, and every number
// that real data pins: the field notes' 4.15 session (tests/data/field-notes-4.15.md) and
// the 6.1/6.12 recordings (tests/data/recorded, tests/data/traces: meminfo.txt,
// vmstat_cma.txt, steps.txt, trace.txt).  No recording holds a debugfs or sysfs value;
// those files are checked against the kernel's format strings only.
#include "helpers.hpp"

#include <cma/device/cma_debugfs.hpp>
#include <cma/device/cma_sysfs.hpp>
#include <cma/device/meminfo.hpp>
#include <cma/device/simple_attr.hpp>
#include <cma/device/vmstat.hpp>
#include <cma/formats/ftrace.hpp>
#include <cma/formats/kmsg.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace dev = cma::device;
using cmatest::prof;

namespace {

std::string repeat_words(const std::string& word, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += (i ? " " : "") + word;
  return s;
}

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("> ", 0) == 0) line.erase(0, 2); // the notes quote some blocks
    if (line.rfind(prefix, 0) == 0) out.push_back(line + "\n");
  }
  return out;
}

} // namespace

// ============================================================== debugfs: layout

TEST_CASE("debugfs: the directory is cma-<name> up to 6.0 and <name> from 6.1", "[device]") {
  //  <debugfs>/cma/cma-reserved/   4.15 (the field notes' `cd /sys/kernel/debug/cma/cma-reserved`)
  //  <debugfs>/cma/reserved/       6.1
  // Expect 15 characters at most before 6.1 (scnprintf into char[16]).
  for (auto [v, dir] : {std::pair{"4.15", "cma-reserved"}, {"5.10", "cma-reserved"}, {"5.14", "cma-reserved"},
                        {"6.1", "reserved"}, {"6.6", "reserved"}, {"6.12", "reserved"}, {"6.15", "reserved"}}) {
    auto a = cma::make_allocator("reserved", {0x40000, 262144}, 0, v);
    CHECK(dev::cma_debugfs(a).dir_name() == dir);
  }
  auto old = cma::make_allocator("linux,cma-long-node-name", {0x40000, 1024}, 0, "5.10");
  CHECK(dev::cma_debugfs(old).dir_name() == "cma-linux,cma-l");
  auto now = cma::make_allocator("linux,cma-long-node-name", {0x40000, 1024}, 0, "6.1");
  CHECK(dev::cma_debugfs(now).dir_name() == "linux,cma-long-node-name");
  // An unnamed area is "cma%d\n" (trailing newline included, KERNEL-FACTS §4): so is its directory.
  auto unnamed_old = cma::make_allocator("cma0\n", {0x40000, 1024}, 0, "5.10");
  CHECK(dev::cma_debugfs(unnamed_old).dir_name() == "cma-cma0\n");
  auto unnamed = cma::make_allocator("cma1\n", {0x40000, 1024}, 0, "6.15");
  CHECK(dev::cma_debugfs(unnamed).dir_name() == "cma1\n");
  CHECK(dev::cma_sysfs::dir_name("cma1\n") == "cma1\n");
}

TEST_CASE("debugfs: the files each version creates, in creation order", "[device]") {
  const std::vector<std::string> classic = {"alloc", "free", "base_pfn", "count", "order_per_bit", "used", "maxchunk", "bitmap"};
  for (const char* v : {"4.15", "5.10", "6.1", "6.6", "6.12"}) {
    auto a = cma::make_allocator("reserved", {0x76c00, 32768}, 0, v);
    CHECK(dev::cma_debugfs(a).files() == classic);
    CHECK_FALSE(dev::cma_debugfs(a).symlink_target("bitmap"));
  }
  // 6.15+: ranges/N/{base_pfn,bitmap}, base_pfn and bitmap become symlinks to range 0.
  cma::allocator h("hugetlb0", std::vector<cma::memrange_spec>{{0x100000, 1024}, {0x180000, 512}}, 0, prof("6.15"));
  dev::cma_debugfs d(h);
  CHECK(d.files() == std::vector<std::string>{"alloc", "free", "count", "order_per_bit", "used", "maxchunk",
                                              "ranges/0/base_pfn", "ranges/0/bitmap", "ranges/1/base_pfn",
                                              "ranges/1/bitmap", "base_pfn", "bitmap"});
  CHECK(d.symlink_target("base_pfn") == "ranges/0/base_pfn");
  CHECK(d.symlink_target("bitmap") == "ranges/0/bitmap");
}

// =============================================================== debugfs: reads

TEST_CASE("debugfs: every attribute reads as \"%llu\\n\" in decimal", "[device]") {
  //  reserved: base_pfn 0x76c00, 32768 pages (cma=128M on a 1G QEMU virt), three boot pools
  //  [ppp.......................]  3 x 32 pages align 5
  // Expect base_pfn 486400, count 32768, used 96, maxchunk 32672.
  for (const char* v : cmatest::all_versions) {
    auto a = cma::make_allocator("reserved", {0x76c00, 32768}, 0, v);
    for (int i = 0; i < 3; ++i) REQUIRE(a.alloc(32, 5).ok());
    dev::cma_debugfs d(a);
    CHECK(d.read("base_pfn") == dev::read_result{0, "486400\n"});
    CHECK(d.read("count") == dev::read_result{0, "32768\n"});
    CHECK(d.read("order_per_bit") == dev::read_result{0, "0\n"});
    CHECK(d.read("used") == dev::read_result{0, "96\n"});
    CHECK(d.read("maxchunk") == dev::read_result{0, "32672\n"});
    // 1024 u32 words: three full ones, then zeros, a newline after the last.
    CHECK(d.read("bitmap").text == "4294967295 4294967295 4294967295 " + repeat_words("0", 1021) + "\n");
  }
}

TEST_CASE("debugfs: bitmap words are bit i of word i/32, little endian", "[device]") {
  //  bits: [x.x.......] + bit 33 → word 0 = 0b101 = 5, word 1 = 0b10 = 2
  auto a = cma::make_allocator("t", {0x1000, 64}, 0, "6.1");
  a.mark_allocated(0x1000, 1);
  a.mark_allocated(0x1002, 1);
  a.mark_allocated(0x1000 + 33, 1);
  CHECK(dev::cma_debugfs(a).read("bitmap").text == "5 2\n");
}

TEST_CASE("debugfs: a full bitmap of 10-digit words loses its final newline (u32_array's n*11 buffer)", "[device]") {
  //  [xxxxxxxx…x]  64 pages, all used → words 4294967295 4294967295: 21 bytes + '\n' > 2 * 11
  // Expect "4294967295 4294967295" with no '\n'; one word short of ten digits keeps it.
  for (const char* v : {"4.15", "6.1", "6.15"}) {
    auto a = cma::make_allocator("t", {0x1000, 64}, 0, v);
    REQUIRE(a.alloc(64, 0).ok());
    CHECK(dev::cma_debugfs(a).read("bitmap").text == "4294967295 4294967295");
    a.release(0x1000 + 63, 1); // 2147483647 still has ten digits
    CHECK(dev::cma_debugfs(a).read("bitmap").text == "4294967295 2147483647");
    a.release(0x1000 + 61, 2); // 536870911: nine
    CHECK(dev::cma_debugfs(a).read("bitmap").text == "4294967295 536870911\n");
  }
}

TEST_CASE("debugfs: used counts bits before 6.15 and requested pages from 6.15", "[device]") {
  //  order_per_bit 1: alloc 3 pages takes 2 bits = 4 pages
  // Expect used 4 (≤6.14), 3 (6.15+); maxchunk in pages either way.
  for (auto [v, used] : {std::pair{"6.12", "4\n"}, {"6.15", "3\n"}}) {
    auto a = cma::make_allocator("t", {0x1000, 64}, 1, v);
    REQUIRE(a.alloc(3, 0).ok());
    dev::cma_debugfs d(a);
    CHECK(d.read("used").text == used);
    CHECK(d.read("maxchunk").text == "60\n");
    CHECK(d.read("order_per_bit").text == "1\n");
  }
}

TEST_CASE("debugfs: 4.15's maxchunk never returns with order_per_bit > 0", "[device]") {
  auto a = cma::make_allocator("t", {0x1000, 64}, 1, "4.15");
  CHECK(dev::cma_debugfs(a).maxchunk_hangs());
  auto b = cma::make_allocator("t", {0x1000, 64}, 1, "5.10");
  CHECK_FALSE(dev::cma_debugfs(b).maxchunk_hangs());
  auto c = cma::make_allocator("t", {0x1000, 64}, 0, "4.15");
  CHECK_FALSE(dev::cma_debugfs(c).maxchunk_hangs());
}

TEST_CASE("debugfs: 6.15 ranges/N show each range, the top-level files the whole area", "[device]") {
  //  range 0: base 0x100000, 1024 pages   range 1: base 0x180000, 512 pages
  cma::allocator h("hugetlb0", std::vector<cma::memrange_spec>{{0x100000, 1024}, {0x180000, 512}}, 0, prof("6.15"));
  REQUIRE(h.alloc(1024, 0).ok()); // fills range 0
  REQUIRE(h.alloc(100, 0).ok());  // lands in range 1
  dev::cma_debugfs d(h);
  CHECK(d.read("count").text == "1536\n");
  CHECK(d.read("base_pfn").text == "1048576\n");
  CHECK(d.read("ranges/0/base_pfn").text == "1048576\n");
  CHECK(d.read("ranges/1/base_pfn").text == "1572864\n");
  CHECK(d.read("used").text == "1124\n");
  CHECK(d.read("maxchunk").text == "412\n");
  CHECK(d.read("bitmap") == d.read("ranges/0/bitmap"));
  CHECK(d.read("ranges/0/bitmap").text == repeat_words("4294967295", 32)); // 32 ten-digit words: no '\n'
  CHECK(d.read("ranges/1/bitmap").text == "4294967295 4294967295 4294967295 15 " + repeat_words("0", 12) + "\n");
  CHECK(d.read("ranges/2/base_pfn").err == dev::enoent);
  CHECK(d.read("ranges").err == dev::eisdir);
  CHECK(d.read("ranges/1").err == dev::eisdir);
}

TEST_CASE("debugfs: reads and writes the handlers refuse", "[device]") {
  auto a = cma::make_allocator("reserved", {0x76c00, 32768}, 0, "6.1");
  dev::cma_debugfs d(a);
  CHECK(d.read("alloc").err == dev::eacces); // no getter
  CHECK(d.read("free").err == dev::eacces);
  CHECK(d.write("count", "5\n").err == dev::eacces); // no setter
  CHECK(d.write("used", "5\n").err == dev::eacces);
  CHECK(d.write("bitmap", "5\n").err == cma::einval); // u32_array has no .write
  CHECK(d.read("ranges/0/bitmap").err == dev::enoent); // not before 6.15
  CHECK(d.read("nosuch").err == dev::enoent);
  CHECK(d.write("nosuch", "1").err == dev::enoent);
}

// ============================================================ simple_attr writes

TEST_CASE("simple_attr: 4.15 parses with simple_strtoll, 5.10+ with kstrtoull", "[device]") {
  struct row {
    const char* in;
    dev::simple_attr_value v415, v61;
  };
  const std::uint64_t m1 = ~std::uint64_t{0};
  const row rows[] = {
      {"102400\n", {0, 102400}, {0, 102400}},
      {"0x10\n", {0, 16}, {0, 16}},
      {"010\n", {0, 8}, {0, 8}},
      {"-1\n", {0, m1}, {cma::einval, 0}},
      {"+5\n", {0, 0}, {0, 5}},
      {"abc\n", {0, 0}, {cma::einval, 0}},
      {"", {0, 0}, {cma::einval, 0}},
      {" 5\n", {0, 0}, {cma::einval, 0}},
      {"5 pages\n", {0, 5}, {cma::einval, 0}},
      {"5\n\n", {0, 5}, {cma::einval, 0}},
      {"0x\n", {0, 0}, {cma::einval, 0}},
      {"09\n", {0, 0}, {cma::einval, 0}},
      {"18446744073709551615\n", {0, m1}, {0, m1}},
      {"18446744073709551616\n", {0, 0}, {dev::erange, 0}},
      // only the first 23 bytes are parsed: 23 zeros, the "10" is cut off
      {"0000000000000000000000010\n", {0, 0}, {0, 0}},
  };
  for (const auto& r : rows) {
    INFO("input \"" << r.in << "\"");
    const auto a = dev::simple_attr_parse(r.in, prof("4.15"));
    CHECK(a.err == r.v415.err);
    CHECK(a.val == r.v415.val);
    const auto b = dev::simple_attr_parse(r.in, prof("6.1"));
    CHECK(b.err == r.v61.err);
    CHECK(b.val == r.v61.val);
    CHECK(dev::simple_attr_parse(r.in, prof("5.10")).err == b.err);
  }
}

// ======================================================= debugfs: alloc and free

TEST_CASE("debugfs alloc: align 0, each record at the head; free: LIFO, then a partial free of the head", "[device]") {
  //  alloc 10 → A [0,10)   alloc 20 → B [10,30)   alloc 30 → C [30,60)     mem_head: C B A
  //  free 35: C whole (35-30=5 left), then the first 5 pages of B     mem_head: B'[15,30) A
  // Expect releases (30@C, 5@B), bits [10,15) clear again, used 25.
  for (const char* v : cmatest::all_versions) {
    INFO("kernel " << v);
    auto a = cma::make_allocator("reserved", {0x1000, 1024}, 0, v);
    dev::cma_debugfs d(a);
    for (const char* n : {"10\n", "20\n", "30\n"}) {
      const auto w = d.write_alloc(n);
      CHECK(w.write == dev::write_result{0, 3});
      REQUIRE(w.alloc);
      CHECK(w.alloc->align == 0);
    }
    CHECK(d.mem_head() == std::deque<dev::cma_mem>{{0x101e, 30}, {0x100a, 20}, {0x1000, 10}});
    const auto f = d.write_free("35\n");
    CHECK(f.write == dev::write_result{0, 3});
    REQUIRE(f.releases.size() == 2);
    CHECK(f.releases[0].pfn == 0x101e);
    CHECK(f.releases[0].count == 30);
    CHECK(f.releases[1].pfn == 0x100a);
    CHECK(f.releases[1].count == 5);
    CHECK(d.mem_head() == std::deque<dev::cma_mem>{{0x100f, 15}, {0x1000, 10}});
    CHECK(d.read("used").text == "25\n");
    CHECK(d.is_valid());
    CHECK(a.page_used(0x100a) == false);
    CHECK(a.page_used(0x100f) == true);
    // The next alloc fills the hole first fit from bit 0 and goes to the head.
    CHECK(d.write_alloc("5").alloc->pfn == 0x100a);
    CHECK(d.mem_head().front() == dev::cma_mem{0x100a, 5});
  }
}

TEST_CASE("debugfs free: order_per_bit > 0 refuses a partial free and stops, still returning success", "[device]") {
  //  order_per_bit 1: alloc 4 (2 bits), alloc 3 (2 bits)     mem_head: 3 4
  //  free 2: the head has 3 > 2 pages → refused, nothing freed
  //  free 7: 3 then 4, everything
  auto a = cma::make_allocator("t", {0x1000, 64}, 1, "6.1");
  dev::cma_debugfs d(a);
  REQUIRE(d.write_alloc("4").write.ok());
  REQUIRE(d.write_alloc("3").write.ok());
  const auto f = d.write_free("2\n");
  CHECK(f.write == dev::write_result{0, 2});
  CHECK(f.partial_refused);
  CHECK(f.releases.empty());
  CHECK(d.mem_head() == std::deque<dev::cma_mem>{{0x1004, 3}, {0x1000, 4}});
  CHECK(d.is_valid());
  CHECK(std::string(dev::cma_debugfs_partial_release_msg) == "cma: cannot release partial block when order_per_bit != 0");
  const auto g = d.write_free("7");
  CHECK_FALSE(g.partial_refused);
  CHECK(g.releases.size() == 2);
  CHECK(d.mem_head().empty());
  CHECK(d.read("used").text == "0\n");
}

TEST_CASE("debugfs free: a value of 2^31 or more is a negative int and frees every record", "[device]") {
  for (const char* huge : {"4294967295\n", "2147483648\n", "0xffffffffffffffff\n"}) {
    for (const char* v : {"4.15", "6.1", "6.15"}) {
      INFO(v << " free " << huge);
      auto a = cma::make_allocator("t", {0x1000, 1024}, 0, v);
      dev::cma_debugfs d(a);
      for (int i = 0; i < 4; ++i) REQUIRE(d.write_alloc("100").write.ok());
      const auto f = d.write_free(huge);
      CHECK(f.pages < 0);
      CHECK(f.write.ok());
      CHECK(f.releases.size() == 4);
      CHECK(d.mem_head().empty());
      CHECK(d.read("used").text == "0\n");
    }
  }
  // 4.15 takes "-1" the same way; 5.10+ refuse it before the handler runs.
  auto old = cma::make_allocator("t", {0x1000, 1024}, 0, "4.15");
  dev::cma_debugfs d(old);
  REQUIRE(d.write_alloc("100").write.ok());
  CHECK(d.write_free("-1\n").releases.size() == 1);
  auto now = cma::make_allocator("t", {0x1000, 1024}, 0, "6.1");
  dev::cma_debugfs e(now);
  REQUIRE(e.write_alloc("100").write.ok());
  const auto f = e.write_free("-1\n");
  CHECK(f.write.err == cma::einval);
  CHECK_FALSE(f.parsed);
  CHECK(e.mem_head().size() == 1);
}

TEST_CASE("debugfs free: an empty list or 0 pages frees nothing and succeeds", "[device]") {
  auto a = cma::make_allocator("t", {0x1000, 1024}, 0, "6.1");
  dev::cma_debugfs d(a);
  CHECK(d.write_free("10\n").write == dev::write_result{0, 3});
  REQUIRE(d.write_alloc("10").write.ok());
  const auto f = d.write_free("0\n");
  CHECK(f.write.ok());
  CHECK(f.releases.empty());
  CHECK(d.mem_head().size() == 1);
  // Only 23 bytes are parsed (24 zeros and a 5 read as 0), but every byte counts as written.
  const std::string padded = std::string(24, '0') + "5\n";
  const auto g = d.write_free(padded);
  CHECK(g.write == dev::write_result{0, padded.size()});
  CHECK(g.releases.empty());
}

TEST_CASE("debugfs alloc: a failed cma_alloc is -ENOMEM whatever its own error, and leaves no record", "[device]") {
  //  1024-page area, echo 2048 > alloc
  // Expect -ENOMEM from the write; cma_alloc's ret -12 up to 6.14, -16 from 6.15.
  for (auto [v, ret] : {std::pair{"4.15", cma::enomem}, {"6.1", cma::enomem}, {"6.12", cma::enomem}, {"6.15", cma::ebusy}}) {
    INFO(v);
    auto a = cma::make_allocator("t", {0x1000, 1024}, 0, v);
    dev::cma_debugfs d(a);
    const auto w = d.write_alloc("2048\n");
    CHECK(w.write.err == cma::enomem);
    REQUIRE(w.alloc);
    CHECK(w.alloc->err == ret);
    CHECK(d.mem_head().empty());
    // 0 pages and a negative int fail the same way.
    CHECK(d.write_alloc("0\n").write.err == cma::enomem);
    CHECK(d.write_alloc("4294967295\n").write.err == cma::enomem);
    CHECK(d.write_alloc("4294967295\n").alloc->count == ~cma::page_count{0});
  }
  // kstrtoull refusals never reach cma_alloc.
  auto a = cma::make_allocator("t", {0x1000, 1024}, 0, "6.1");
  dev::cma_debugfs d(a);
  const auto w = d.write_alloc("ten\n");
  CHECK(w.write.err == cma::einval);
  CHECK_FALSE(w.alloc);
  CHECK(d.write_alloc("99999999999999999999\n").write.err == dev::erange);
  CHECK(d.write("alloc", "0000000000000000000000010\n").err == cma::enomem); // 23 zeros: 0 pages
}

TEST_CASE("debugfs alloc: a busy window is retried like any cma_alloc", "[device]") {
  //  [....B...] page 4 busy: the first window [0,8) fails -EBUSY, the next try starts at bit 1
  auto a = cma::make_allocator("t", {0x1000, 64}, 0, "6.1");
  dev::cma_debugfs d(a);
  const cma::busy_oracle busy = [](cma::pfn_t pfn, cma::page_count n) {
    return pfn <= 0x1004 && 0x1004 < pfn + n ? cma::ebusy : 0;
  };
  const auto w = d.write_alloc("8\n", busy);
  REQUIRE(w.write.ok());
  CHECK(w.alloc->pfn == 0x1005);
  CHECK(w.alloc->busy_retries() == 5);
  CHECK(d.mem_head().front() == dev::cma_mem{0x1005, 8});
}

// ================================================== the field notes' 4.15 session

TEST_CASE("field notes 4.15: echo 102400 > alloc, then > free, in cma-reserved with CmaFree exact across it", "[device]") {
  //  cma=1G@1-2G on x86_64 4.15: Reserved 1024 MiB at 0x40000000 → base_pfn 0x40000, 262144 pages
  //  three 1-page cma_alloc calls at boot (dmesg: count 1, align 0)
  //  # cd /sys/kernel/debug/cma/cma-reserved ; cat /proc/meminfo | grep Cma ; echo 102400 > alloc
  // Expect: the notes' CmaTotal line byte for byte; CmaFree 1039940 kB → 630340 kB with one
  // constant outside_bitmap term; `used` back where it was after `echo 102400 > free`.
  const auto notes = cmatest::read_fixture("field-notes-4.15.md");
  const auto totals = lines_starting(notes, "CmaTotal:");
  const auto frees = lines_starting(notes, "CmaFree:");
  REQUIRE(totals.size() >= 2);
  REQUIRE(frees.size() >= 6);

  auto a = cma::make_allocator("reserved", {0x40000, 262144}, 0, "4.15");
  for (int i = 0; i < 3; ++i) REQUIRE(a.alloc(1, 0).ok());
  dev::cma_debugfs d(a);
  CHECK(d.dir_name() == "cma-reserved");
  for (const auto& t : totals) CHECK(dev::meminfo_cma_total(a.count()) == t);

  // frees[1] is read just before the alloc: it fixes the term the bitmap cannot see.
  const auto kb = [](const std::string& line) { return std::stoull(line.substr(line.find(':') + 1)); };
  const std::int64_t outside = static_cast<std::int64_t>(kb(frees[1]) / 4) - static_cast<std::int64_t>(dev::bitmap_free_pages(a));
  CHECK(outside < 0); // movable pages and per-CPU lists hold some of the area
  CHECK(dev::meminfo_cma_free(dev::cma_free_of(a, outside)) == frees[1]);

  const std::string used_before = d.read("used").text;
  const auto w = d.write_alloc("102400\n");
  REQUIRE(w.write.ok());
  CHECK(w.alloc->count == 102400); // dmesg: cma_alloc(cma …, count 102400, align 0)
  CHECK(w.alloc->align == 0);
  CHECK(dev::meminfo_cma_free(dev::cma_free_of(a, outside)) == frees[2]); // "CmaFree:          630340 kB"
  CHECK(dev::meminfo_cma_lines(a, outside) == totals[0] + frees[2]);

  const auto f = d.write_free("102400\n");
  CHECK(f.write == dev::write_result{0, 7});
  REQUIRE(f.releases.size() == 1); // dmesg: one cma_release(page …), the same page
  CHECK(f.releases[0].pfn == w.alloc->pfn);
  CHECK(d.read("used").text == used_before);
  CHECK(d.mem_head().empty());
  // Something else releasing a record's pages breaks the invariant the kernel relies on.
  REQUIRE(d.write_alloc("16").write.ok());
  CHECK(d.is_valid());
  a.release(d.mem_head().front().pfn, 16);
  CHECK_FALSE(d.is_valid());
}

TEST_CASE("field notes 4.15: CmaFree drops by exactly 131072 kB and 524288 kB for the 128 and 512 MiB writes", "[device]") {
  //  a later boot: insmod cma_test; CmaFree 1044036 kB; echo 128 > /dev/cma_test
  //  (cma_alloc count 32768 align 8) → 912964 kB; echo 512 → (count 131072 align 8) → 388676 kB
  const auto notes = cmatest::read_fixture("field-notes-4.15.md");
  const auto frees = lines_starting(notes, "CmaFree:");
  REQUIRE(frees.size() >= 6);
  auto a = cma::make_allocator("reserved", {0x40000, 262144}, 0, "4.15");
  for (int i = 0; i < 3; ++i) REQUIRE(a.alloc(1, 0).ok());
  const auto kb = [](const std::string& line) { return std::stoull(line.substr(line.find(':') + 1)); };
  const std::int64_t outside = static_cast<std::int64_t>(kb(frees[3]) / 4) - static_cast<std::int64_t>(dev::bitmap_free_pages(a));
  REQUIRE(a.alloc(32768, 8).ok());
  CHECK(dev::meminfo_cma_free(dev::cma_free_of(a, outside)) == frees[4]);
  REQUIRE(a.alloc(131072, 8).ok());
  CHECK(dev::meminfo_cma_free(dev::cma_free_of(a, outside)) == frees[5]);
}

// ===================================================================== meminfo

TEST_CASE("meminfo: show_val_kb pads the kB value to 8 columns and never cuts it", "[device]") {
  CHECK(dev::meminfo_cma_total(262144) == "CmaTotal:        1048576 kB\n");
  CHECK(dev::meminfo_cma_total(32768) == "CmaTotal:         131072 kB\n");
  CHECK(dev::meminfo_cma_total(0) == "CmaTotal:              0 kB\n");
  CHECK(dev::meminfo_cma_free({1582, 0}) == "CmaFree:            6328 kB\n");
  CHECK(dev::meminfo_cma_total(std::uint64_t{1} << 30) == "CmaTotal:       4294967296 kB\n"); // 4 TiB: 10 digits
  CHECK(dev::nr_free_cma{100, -30}.pages() == 70);
  CHECK(dev::nr_free_cma{100, -300}.pages() == 0);
  CHECK(dev::nr_free_cma{100, 7}.pages() == 107);
}

TEST_CASE("meminfo and vmstat: every real 6.1/6.12 recording's lines, byte for byte", "[device]") {
  // CmaTotal from the boot line's area size; CmaFree and nr_free_cma from the same
  // NR_FREE_CMA_PAGES (vmstat_cma.txt's value, the term the bitmap cannot see included).
  namespace fs = std::filesystem;
  int dirs = 0;
  for (const char* root : {"recorded", "traces"}) {
    for (const auto& entry : fs::directory_iterator(cmatest::data_path(root))) {
      const fs::path dir = entry.path();
      if (!fs::exists(dir / "meminfo.txt") || !fs::exists(dir / "vmstat_cma.txt")) continue;
      const std::string rel = std::string(root) + "/" + dir.filename().string();
      INFO(rel);
      ++dirs;
      cma::page_count total = 0;
      std::istringstream dm(cmatest::read_fixture(rel + "/dmesg.txt"));
      for (std::string line; std::getline(dm, line);) {
        auto p = cma::formats::kmsg::parse_line(line);
        if (p.status != cma::formats::line_status::event) continue;
        if (auto r = std::get_if<cma::ev::reserved>(&*p.event)) total += r->mib * 256;
        if (auto r = std::get_if<cma::ev::reserved_ranges>(&*p.event)) total += r->mib * 256; // 7.x, no address
      }
      const auto meminfo = cmatest::read_fixture(rel + "/meminfo.txt");
      const auto vmstat = cmatest::read_fixture(rel + "/vmstat_cma.txt");
      const auto nr = lines_starting(vmstat, "nr_free_cma ");
      REQUIRE(nr.size() == 1);
      const cma::page_count free_pages = std::stoull(nr[0].substr(12));
      const dev::nr_free_cma f{free_pages, 0};
      CHECK(lines_starting(meminfo, "CmaTotal:") == std::vector<std::string>{dev::meminfo_cma_total(total)});
      CHECK(lines_starting(meminfo, "CmaFree:") == std::vector<std::string>{dev::meminfo_cma_free(f)});
      CHECK(dev::vmstat_nr_free_cma(f) == nr[0]);
    }
  }
  CHECK(dirs >= 18);
}

// ========================================================= vmstat events and sysfs

TEST_CASE("vmstat: cma_alloc_success / cma_alloc_fail after every step of the real recordings", "[device]") {
  // The model replays each recording's trace (boot pools included; each busy retry the
  // trace shows is the busy oracle) and counts the calls as the kernel version accounts
  // them.  After every step the counters must equal steps.txt's, and at the end
  // vmstat_cma.txt's lines.  On the way, the documented sign of CmaFree's unseen term
  // is checked: with order_per_bit 0 the buddy never holds more free CMA pages than the
  // bitmap leaves free (outside_bitmap <= 0).
  namespace fs = std::filesystem;
  const std::regex counters(R"(@@STEP (\d+) .*CmaFree: (\d+) kB.* cma_alloc_success=(\d+) cma_alloc_fail=(\d+))");
  int recordings = 0;
  std::size_t steps_checked = 0;
  for (const char* root : {"recorded", "traces"}) {
    for (const auto& entry : fs::directory_iterator(cmatest::data_path(root))) {
      const fs::path dir = entry.path();
      if (!fs::exists(dir / "steps.txt") || !fs::exists(dir / "trace.txt")) continue;
      if (!cmatest::device_emulation_covers(dir)) continue; // hugetlb workloads: helpers.hpp says why
      const std::string rel = std::string(root) + "/" + dir.filename().string();
      const std::string dmesg = cmatest::read_fixture(rel + "/dmesg.txt");
      std::optional<cma::memrange_spec> range;
      std::string version = "6.1";
      std::istringstream dm(dmesg);
      for (std::string line; std::getline(dm, line);) {
        auto p = cma::formats::kmsg::parse_line(line);
        if (p.status != cma::formats::line_status::event) continue;
        if (auto r = std::get_if<cma::ev::reserved>(&*p.event)) range = cma::memrange_spec{r->base >> 12, r->mib * 256};
        if (auto b = std::get_if<cma::ev::banner>(&*p.event)) version = b->version.str();
      }
      if (!range) continue; // no area: nothing is ever allocated
      INFO(rel << " (kernel " << version << ")");
      ++recordings;
      cma::allocator a("reserved", *range, 0, prof(version.c_str()));
      dev::cma_vm_events events(a.prof());
      dev::cma_sysfs sysfs(a.prof());

      // steps.txt: step N's counters, read after step N.
      std::map<unsigned, std::array<std::uint64_t, 3>> expected;
      std::istringstream st(cmatest::read_fixture(rel + "/steps.txt"));
      for (std::string line; std::getline(st, line);) {
        std::smatch m;
        if (std::regex_search(line, m, counters))
          expected[static_cast<unsigned>(std::stoul(m[1]))] = {std::stoull(m[2]), std::stoull(m[3]), std::stoull(m[4])};
      }
      if (expected.empty()) continue; // a boot-only recording: no workload steps

      unsigned step = 0;
      const auto check_step = [&](unsigned n) {
        const auto it = expected.find(n);
        if (it == expected.end()) return;
        INFO("after step " << n);
        CHECK(events.cma_alloc_success() == it->second[1]);
        CHECK(events.cma_alloc_fail() == it->second[2]);
        CHECK(it->second[0] / 4 <= dev::bitmap_free_pages(a)); // outside_bitmap <= 0
        ++steps_checked;
      };
      std::optional<cma::ev::alloc_start> start;
      std::vector<cma::pfn_t> busy;
      // A start with no finish is a call that returned early (6.1: too large; 6.12: any
      // early exit): the model takes the same exit and the version decides the counting.
      const auto flush_unfinished = [&] {
        if (!start) return;
        const auto r = a.alloc(start->count, start->align);
        CHECK_FALSE(r.ok());
        events.on_cma_alloc(r);
        sysfs.on_cma_alloc(r);
        start.reset();
      };
      std::istringstream tr(cmatest::read_fixture(rel + "/trace.txt"));
      for (std::string line; std::getline(tr, line);) {
        auto p = cma::formats::ftrace::parse_line(line);
        if (p.status != cma::formats::line_status::event) continue;
        const auto& e = *p.event;
        if (auto mk = std::get_if<cma::ev::step_marker>(&e)) {
          flush_unfinished();
          if (step) check_step(step);
          step = mk->n;
        } else if (auto s = std::get_if<cma::ev::alloc_start>(&e)) {
          flush_unfinished();
          start = *s;
          busy.clear();
        } else if (auto b = std::get_if<cma::ev::busy_retry>(&e)) {
          busy.push_back(b->pfn);
        } else if (auto fin = std::get_if<cma::ev::alloc_finish>(&e)) {
          REQUIRE(start);
          const std::set<cma::pfn_t> busy_set(busy.begin(), busy.end());
          const auto r = a.alloc(start->count, start->align,
                                 [&](cma::pfn_t pf, cma::page_count) { return busy_set.count(pf) ? cma::ebusy : 0; });
          CHECK(r.ok() == (fin->page != 0));
          events.on_cma_alloc(r);
          sysfs.on_cma_alloc(r);
          start.reset();
        } else if (auto rel_ev = std::get_if<cma::ev::release>(&e)) {
          const auto rr = a.release(rel_ev->pfn, rel_ev->count);
          CHECK(rr.ok);
          sysfs.on_cma_release(rr, rel_ev->count);
        }
      }
      flush_unfinished();
      if (step) check_step(step);
      if (!fs::exists(dir / "vmstat_cma.txt")) continue;
      const auto vm = cmatest::read_fixture(rel + "/vmstat_cma.txt");
      CHECK(lines_starting(vm, "cma_alloc_success ") ==
            std::vector<std::string>{dev::vmstat_line("cma_alloc_success", events.cma_alloc_success())});
      CHECK(lines_starting(vm, "cma_alloc_fail ") ==
            std::vector<std::string>{dev::vmstat_line("cma_alloc_fail", events.cma_alloc_fail())});
      CHECK(events.lines() == dev::vmstat_line("cma_alloc_success", events.cma_alloc_success()) +
                                  dev::vmstat_line("cma_alloc_fail", events.cma_alloc_fail()));
    }
  }
  CHECK(recordings >= 13);
  CHECK(steps_checked > 1500);
}

TEST_CASE("sysfs: the files each version has", "[device]") {
  CHECK(dev::cma_sysfs::files(prof("4.15")).empty());
  CHECK(dev::cma_sysfs::files(prof("5.10")).empty());
  CHECK(dev::cma_sysfs::files(prof("5.14")) == std::vector<std::string>{"alloc_pages_success", "alloc_pages_fail"});
  CHECK(dev::cma_sysfs::files(prof("6.1")) == std::vector<std::string>{"alloc_pages_success", "alloc_pages_fail"});
  CHECK(dev::cma_sysfs::files(prof("6.6")) == std::vector<std::string>{"alloc_pages_success", "alloc_pages_fail"});
  CHECK(dev::cma_sysfs::files(prof("6.12")) ==
        std::vector<std::string>{"alloc_pages_success", "alloc_pages_fail", "release_pages_success"});
  for (const char* v : {"6.15", "6.18"})
    CHECK(dev::cma_sysfs::files(prof(v)) == std::vector<std::string>{"alloc_pages_success", "alloc_pages_fail",
                                                                     "release_pages_success", "total_pages",
                                                                     "available_pages"});
  CHECK(dev::cma_sysfs::dir_name("reserved") == "reserved");
}

TEST_CASE("sysfs: pages counted per accounted call, each file one decimal and a newline", "[device]") {
  //  6.18, 1024 pages: alloc 100 ok, alloc 2000 fails, release 40 of the 100
  // Expect success 100, fail 2000, released 40, total 1024, available 964.
  auto a = cma::make_allocator("reserved", {0x1000, 1024}, 0, "6.18");
  dev::cma_sysfs s(a.prof());
  const auto ok = a.alloc(100, 0);
  s.on_cma_alloc(ok);
  s.on_cma_alloc(a.alloc(2000, 0));
  s.on_cma_release(a.release(ok.pfn, 40), 40);
  s.on_cma_release(a.release(0x9000, 5), 5); // outside the area: cma_release returns false, nothing counted
  CHECK(s.read(a, "alloc_pages_success") == dev::read_result{0, "100\n"});
  CHECK(s.read(a, "alloc_pages_fail") == dev::read_result{0, "2000\n"});
  CHECK(s.read(a, "release_pages_success") == dev::read_result{0, "40\n"});
  CHECK(s.read(a, "total_pages") == dev::read_result{0, "1024\n"});
  CHECK(s.read(a, "available_pages") == dev::read_result{0, "964\n"});
  CHECK(s.write("total_pages").err == dev::eacces);
  CHECK(s.read(a, "nosuch").err == dev::enoent);

  auto b = cma::make_allocator("reserved", {0x1000, 1024}, 0, "6.1");
  dev::cma_sysfs t(b.prof());
  const auto r = b.alloc(10, 0);
  t.on_cma_alloc(r);
  t.on_cma_release(b.release(r.pfn, 10), 10); // no release counter before 6.9
  CHECK(t.nr_pages_released() == 0);
  CHECK(t.read(b, "release_pages_success").err == dev::enoent);
  CHECK(t.read(b, "available_pages").err == dev::enoent);
}

TEST_CASE("accounting: which cma_alloc calls reach the vm events and the sysfs counters", "[device]") {
  //  count == 0 and a request larger than the area, per version:
  //    4.15/5.10 no counters; 5.14–6.11 both counted as failures (goto out);
  //    6.12–6.14 neither (return before the accounting); 6.15+ only the too-large one.
  struct row {
    const char* v;
    std::uint64_t fail_calls, fail_pages;
  };
  for (const row& r : {row{"4.15", 0, 0}, row{"5.10", 0, 0}, row{"5.14", 2, 5000}, row{"6.1", 2, 5000},
                       row{"6.6", 2, 5000}, row{"6.12", 0, 0}, row{"6.15", 1, 5000}, row{"6.18", 1, 5000}}) {
    INFO(r.v);
    auto a = cma::make_allocator("t", {0x1000, 1024}, 0, r.v);
    dev::cma_vm_events ev(a.prof());
    dev::cma_sysfs s(a.prof());
    for (auto res : {a.alloc(0, 0), a.alloc(5000, 0)}) {
      ev.on_cma_alloc(res);
      s.on_cma_alloc(res);
    }
    CHECK(ev.cma_alloc_fail() == r.fail_calls);
    CHECK(s.nr_pages_failed() == r.fail_pages);
    CHECK(ev.cma_alloc_success() == 0);
    CHECK(dev::cma_vm_events::present(a.prof()) == (a.prof().version >= cma::kernel_version{5, 13, 0}));
  }
  auto a = cma::make_allocator("t", {0x1000, 1024}, 0, "6.1");
  dev::cma_vm_events ev(a.prof());
  ev.on_cma_alloc(a.alloc(300, 0));
  ev.on_cma_alloc(a.alloc(300, 0));
  CHECK(ev.lines() == "cma_alloc_success 2\ncma_alloc_fail 0\n"); // per call, not per page
  CHECK(dev::cma_vm_events(prof("5.10")).lines().empty());
}
