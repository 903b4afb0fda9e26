// Tests for cma/boot/early_cma.hpp: the command line split as parse_args() splits it,
// and `cma=` / `cma_pernuma=` / `numa_cma=` read as kernel/dma/contiguous.c reads
// them, including the quirks (trailing junk, a later cma= keeping base/limit).
#include "helpers.hpp"
#include <cma/boot/early_cma.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <string_view>

namespace {

using cmatest::M;
using cmatest::G;
const cma::kernel_version v61{6, 1, 0};

struct cma_case {
  std::string_view cmdline;
  bool given;
  std::uint64_t size, base, limit;
  std::string_view tail; ///< what early_cma ignores
};

} // namespace

TEST_CASE("cma= is parsed as size, size@base and size@base-limit", "[early_cma]") {
  static const cma_case cases[] = {
      {"console=ttyAMA0", false, cma::cma_cmdline::size_unset, 0, 0, ""},
      {"cma=128M", true, 128 * M, 0, 0, ""},
      {"cma=0", true, 0, 0, 0, ""},
      {"cma=", true, 0, 0, 0, ""},
      {"cma=64M@0x50000000", true, 64 * M, 0x50000000, 0x54000000, ""},
      {"cma=256M@1G-2G", true, 256 * M, G, 2 * G, ""},
      {"cma=1G@1-2G", true, G, 1, 2 * G, ""},                 // the field notes' boot
      {"cma=128M@0x50000000-0x70000000", true, 128 * M, 0x50000000, 0x70000000, ""},
      {"cma=64Mjunk", true, 64 * M, 0, 0, "junk"},             // trailing junk ignored
      {"cma=64M@0x50000000xyz", true, 64 * M, 0x50000000, 0x54000000, "xyz"},
      {"cma=64M-1G", true, 64 * M, 0, 0, "-1G"},               // '-' only counts after '@'
      {"cma=64M@", true, 64 * M, 0, 64 * M, ""},               // empty base is 0
      {"cma=64M@1G-", true, 64 * M, G, 0, ""},                 // empty limit is 0
      {"cma=\"64M\"", true, 64 * M, 0, 0, ""},                 // quotes stripped
      {"\"cma=64M@1G\"", true, 64 * M, G, G + 64 * M, ""},
      {"cma-x=1 cma=32M", true, 32 * M, 0, 0, ""},             // other names do not match
      {"cma=32M -- cma=64M", true, 32 * M, 0, 0, ""},          // "--" ends kernel parameters
      {"cma=64M@0x50000000 cma=32M", true, 32 * M, 0x50000000, 0x54000000, ""}, // base/limit kept
      {"a=\"x y\" cma=16M", true, 16 * M, 0, 0, ""},           // quoted spaces do not split
      {"cma=16M\tquiet", true, 16 * M, 0, 0, ""},              // tabs split
  };
  for (const auto& c : cases) {
    INFO(c.cmdline);
    const auto p = cma::parse_early_cma_params(c.cmdline, v61);
    CHECK(p.cma.given == c.given);
    CHECK(p.cma.size == c.size);
    CHECK(p.cma.base == c.base);
    CHECK(p.cma.limit == c.limit);
    CHECK(p.cma.ignored_tail == c.tail);
  }
}

TEST_CASE("split_cmdline splits words as next_arg does", "[early_cma]") {
  const auto w = cma::split_cmdline("  a=1 \"b=x y\" c=\"q r\" =d=e =f -- g=2");
  REQUIRE(w.size() == 5);
  CHECK((w[0].name == "a" && w[0].value == "1"));
  CHECK((w[1].name == "b" && w[1].value == "x y"));
  CHECK((w[2].name == "c" && w[2].value == "q r"));
  CHECK((w[3].name == "=d" && w[3].value == "e")); // an '=' at offset 0 does not count
  CHECK((w[4].name == "=f" && !w[4].value));
}

TEST_CASE("a bare cma without a value prints the kernel's complaint from 5.10 on", "[early_cma]") {
  const auto p = cma::parse_early_cma_params("cma", v61);
  CHECK_FALSE(p.cma.given);
  REQUIRE(p.messages.size() == 2);
  CHECK(p.messages[0] == "cma: Config string not provided");
  CHECK(p.messages[1] == "Malformed early option 'cma'");
  const auto old = cma::parse_early_cma_params("cma", {4, 15, 0});
  CHECK(old.messages.empty());
  CHECK_FALSE(old.notes.empty()); // 4.15 dereferences NULL
}

TEST_CASE("4.15 prints early_cma's pr_debug line with the raw value", "[early_cma]") {
  const auto p = cma::parse_early_cma_params("ro cma=1G@1-2G", {4, 15, 0});
  REQUIRE(p.debug_messages.size() == 1);
  CHECK(p.debug_messages[0] == "cma: early_cma(1G@1-2G)");
}

TEST_CASE("trailing junk after cma= is reported as ignored", "[early_cma]") {
  const auto p = cma::parse_early_cma_params("cma=64Mfoo", v61);
  REQUIRE(p.notes.size() == 1);
  CHECK(p.notes[0].find("\"foo\"") != std::string::npos);
}

TEST_CASE("cma_pernuma= and numa_cma= are read only by the versions that have them", "[early_cma]") {
  const auto p = cma::parse_early_cma_params("cma_pernuma=16M numa_cma=0:32M,1:0x1000000", {6, 6, 0});
  CHECK(p.pernuma_size == 16 * M);
  REQUIRE(p.numa_cma.size() == 2);
  CHECK(p.numa_cma.at(0) == 32 * M);
  CHECK(p.numa_cma.at(1) == 16 * M);
  const auto dash = cma::parse_early_cma_params("cma-pernuma=8M", {6, 1, 0});
  CHECK(dash.pernuma_size == 8 * M); // parameq: '-' equals '_'
  const auto old = cma::parse_early_cma_params("cma_pernuma=16M numa_cma=0:32M", {6, 1, 0});
  CHECK(old.pernuma_size == 16 * M);
  CHECK(old.numa_cma.empty()); // numa_cma= is 6.6+
  const auto v415 = cma::parse_early_cma_params("cma_pernuma=16M", {4, 15, 0});
  CHECK(v415.pernuma_size == 0);
}

TEST_CASE("numa_cma= stops at the first malformed item or a node beyond MAX_NUMNODES", "[early_cma]") {
  struct numa_case {
    std::string_view value;
    std::size_t entries;
  };
  static constexpr numa_case cases[] = {
      {"0:16M", 1}, {"0:16M,1:16M", 2}, {"0:16M;1:16M", 1}, {"x:16M", 0},
      {"0-16M", 0}, {"64:16M", 0},      {"63:16M", 1},      {"0:16M,", 1},
  };
  for (const auto& c : cases) {
    INFO(c.value);
    std::map<unsigned, std::uint64_t> sizes;
    cma::early_numa_cma(sizes, c.value, 64);
    CHECK(sizes.size() == c.entries);
  }
}

TEST_CASE("format_cma_param round-trips through early_cma", "[early_cma]") {
  static const std::string_view values[] = {"128M", "64M@0x50000000", "256M@1G-2G", "1G@1-2G",
                                            "0",    "64M@0",          "10M@0x48000001-0x0"};
  for (const auto v : values) {
    const auto a = cma::parse_early_cma_params("cma=" + std::string(v), v61);
    const std::string printed = cma::format_cma_param(a.cma);
    INFO(v << " -> " << printed);
    const auto b = cma::parse_early_cma_params("cma=" + printed, v61);
    CHECK(b.cma.size == a.cma.size);
    CHECK(b.cma.base == a.cma.base);
    CHECK(b.cma.limit == a.cma.limit);
  }
}

//  Regression (issue 10 #11): `cma=18446744073709551615` was taken as a request of
//  2^64-1 bytes.  The kernel keeps size_cmdline at -1 for "no cma=", so that value
//  is "no cma=": the Kconfig size is used, base/limit are never looked at.
//  Expect: given false, a note saying why; one less (2^64-2) is a real request.
TEST_CASE("cma= of 2^64-1 is the kernel's 'no cma=' marker", "[early_cma]") {
  const auto p = cma::parse_early_cma_params("cma=18446744073709551615", v61);
  CHECK_FALSE(p.cma.given);
  CHECK(p.cma.size == cma::cma_cmdline::size_unset);
  REQUIRE(p.notes.size() == 1);
  CHECK(p.notes[0].find("no cma=") != std::string::npos);
  // An earlier cma= is forgotten the same way (size_cmdline overwritten with -1).
  CHECK_FALSE(cma::parse_early_cma_params("cma=64M cma=0xffffffffffffffff", v61).cma.given);
  const auto q = cma::parse_early_cma_params("cma=18446744073709551614", v61);
  CHECK(q.cma.given);
  CHECK(q.cma.size == ~std::uint64_t{1});
}

//  Regression (issue 10 #11): a command line longer than COMMAND_LINE_SIZE was
//  parsed whole.  The kernel keeps 2047 characters (2048 with the NUL on arm64 and
//  x86): a `cma=` after them is never seen, one cut in the middle is read cut.
TEST_CASE("only the first 2047 characters of the command line are parsed", "[early_cma]") {
  CHECK(cma::command_line_max_chars == 2047);
  const auto whole = cma::parse_early_cma_params(std::string(2030 - 14, 'x') + " cma=128M", v61); // 2025 chars
  CHECK(whole.cma.size == 128 * M);
  CHECK(whole.notes.empty());
  const auto beyond = cma::parse_early_cma_params(std::string(2047, 'x') + " cma=128M", v61);
  CHECK_FALSE(beyond.cma.given);
  REQUIRE(beyond.notes.size() == 1);
  CHECK(beyond.notes[0].find("keeps the first 2047") != std::string::npos);
  // "cma=128M" starting at 2040: the kernel sees "cma=128" (128 bytes).
  const auto cut = cma::parse_early_cma_params(std::string(2039, 'x') + " cma=128M", v61);
  CHECK(cut.cma.given);
  CHECK(cut.cma.size == 128);
  CHECK(cut.cma.raw == "128");
}
