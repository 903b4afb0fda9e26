// Tests for cma/boot/memparse.hpp: lib/cmdline.c memparse() on the inputs the kernel
// documentation and the traces use, and on its corner cases (base detection,
// suffixes, wrap-around, where the pointer stops).
#include <cma/boot/memparse.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <string_view>

namespace {

struct memparse_case {
  std::string_view text;
  std::uint64_t value;
  std::size_t consumed;
};

} // namespace

TEST_CASE("memparse reads decimal, octal and hex numbers with an optional suffix", "[memparse]") {
  // Expect: the value and how far the kernel's end pointer moves.
  static constexpr memparse_case cases[] = {
      {"64M", 64ULL << 20, 3},
      {"128m", 128ULL << 20, 4},
      {"1G", 1ULL << 30, 2},
      {"1g", 1ULL << 30, 2},
      {"256K", 256ULL << 10, 4},
      {"2T", 2ULL << 40, 2},
      {"1P", 1ULL << 50, 2},
      {"1E", 1ULL << 60, 2},
      {"0x48000000", 0x48000000ULL, 10},
      {"0X50000000", 0x50000000ULL, 10},
      {"0x10M", 16ULL << 20, 5},
      {"010", 8, 3},            // leading 0: octal
      {"08", 0, 1},             // '8' is not octal: stops after "0"
      {"0", 0, 1},
      {"", 0, 0},
      {"12345", 12345, 5},
      {"1@0x2", 1, 1},          // stops at '@' for early_cma
      {"1Kx", 1024, 2},         // only one suffix letter is consumed
      {"1KM", 1024, 2},
      {"0x", 0, 1},             // "0x" without a hex digit: octal 0, stop at 'x'
      {"0xg", 0, 1},
      {"0xfF", 0xff, 4},        // hex digits are case-insensitive
      {"-1", 0, 0},             // no sign
      {" 1", 0, 0},             // no leading blanks
      {"9B", 9, 1},             // 'B' is not a suffix
      {"1e", 1ULL << 60, 2},    // in decimal, 'e' is the exa suffix
      {"0x1e", 0x1e, 4},        // in hex it is a digit
      {"18446744073709551616", 0, 20}, // 2^64 wraps to 0
      {"16E", 0, 3},            // the shift wraps too
  };
  for (const auto& c : cases) {
    INFO("memparse(\"" << c.text << "\")");
    const auto r = cma::memparse(c.text);
    CHECK(r.value == c.value);
    CHECK(r.consumed == c.consumed);
  }
}

TEST_CASE("memparse's result can be computed at compile time", "[memparse]") {
  static_assert(cma::memparse("64M").value == 64ULL << 20);
  static_assert(cma::memparse("0x40000000").value == 0x40000000ULL);
  SUCCEED();
}

TEST_CASE("format_memparse spells every value so that memparse reads it back", "[memparse]") {
  static constexpr std::uint64_t values[] = {0,           1,           1023,         1024,
                                             64ULL << 20, 0x48000000,  0x48000001,   3ULL << 30,
                                             1ULL << 60,  15ULL << 60, ~0ULL,        0x140000000ULL};
  for (const auto v : values) {
    const std::string s = cma::format_memparse(v);
    INFO(v << " -> " << s);
    const auto r = cma::memparse(s);
    CHECK(r.value == v);
    CHECK(r.consumed == s.size());
  }
  CHECK(cma::format_memparse(64ULL << 20) == "64M");
  CHECK(cma::format_memparse(0x48000001) == "0x48000001");
}

//  The values behind issue 10 #11's `cma=` edge cases, as memparse computes them:
//  2^64-1 is size_cmdline's "unset" marker, 2^64 wraps to 0 (no area), and a value
//  within one alignment of 2^64 is what later rounds up to 0.
TEST_CASE("memparse of the sizes at the top of u64", "[memparse]") {
  CHECK(cma::memparse("18446744073709551615").value == ~std::uint64_t{0});
  CHECK(cma::memparse("0xffffffffffffffff").value == ~std::uint64_t{0});
  CHECK(cma::memparse("18446744073709551616").value == 0);   // wraps
  CHECK(cma::memparse("16777216T").value == 0);              // 2^64 by the shift
  CHECK(cma::memparse("17179869183G").value == ~std::uint64_t{0} - (1ULL << 30) + 1);
  CHECK(cma::memparse("18446744073709551614").consumed == 20);
}
