// Tests for cma/kernel_version.hpp (parse) and the "older than every modelled
// profile" note of cma/profile.hpp.  Regressions of issue 10 #12: `--kernel 6..1`
// was read as 6.0 and `--kernel 3.10` was modelled silently with the 4.15 rules.
#include <cma/kernel_version.hpp>
#include <cma/profile.hpp>

#include <catch2/catch.hpp>

#include <string_view>

namespace {

struct version_case {
  std::string_view text;
  int major, minor, patch;
};

} // namespace

TEST_CASE("kernel_version::parse reads release strings as uname and the logs print them", "[kernel_version]") {
  static const version_case ok[] = {
      {"6", 6, 0, 0},
      {"6.1", 6, 1, 0},
      {"6.1.0-56-arm64", 6, 1, 0},          // Debian's uname -r and Linux version banner
      {"v6.12.117+deb12", 6, 12, 117},      // Debian's package version
      {"6.12.117+deb12-arm64", 6, 12, 117},
      {"4.15.0-20-generic", 4, 15, 0},      // Ubuntu; the field notes
      {"6.1-rc3", 6, 1, 0},
      {"2.6.32.27", 2, 6, 32},              // a four-part 2.6 release
      {"3.10.0-1160.el7.x86_64", 3, 10, 0},
      {"6.1.21-v8+", 6, 1, 21},
      {"6.1.0+", 6, 1, 0},
      // what the replay hands over: the rest of a command line after "vmlinuz-"
      {"4.15.0-20-generic root=UUID=0 ro quiet", 4, 15, 0},
      {"6.1.0 root=/dev/vda", 6, 1, 0},
  };
  for (const auto& c : ok) {
    INFO(c.text);
    const auto v = cma::kernel_version::parse(c.text);
    REQUIRE(v);
    CHECK(v->major == c.major);
    CHECK(v->minor == c.minor);
    CHECK(v->patch == c.patch);
  }
}

TEST_CASE("kernel_version::parse rejects malformed versions instead of guessing", "[kernel_version]") {
  // Each of these used to parse: "6..1" and "6.x" as 6.0, "6.1x" as 6.1, …
  static const std::string_view bad[] = {
      "", "v", "abc", "6..1", "6.", "6.1.", ".6", "6.x", "6.1x", "6.1.0.1.2", "-1", "6.-1",
      "+6.1", " 6.1", "6,1", "6.1/2", "1.0", "100.1", "6.100", "99999999999.1", "6.1.99999999999",
  };
  for (const auto s : bad) {
    INFO('"' << s << '"');
    CHECK_FALSE(cma::kernel_version::parse(s));
  }
}

TEST_CASE("a version older than 4.15 is modelled with the 4.15 rules and says so", "[kernel_version][profile]") {
  using cma::profile;
  const auto v310 = *cma::kernel_version::parse("3.10");
  CHECK(profile::older_than_modelled(v310));
  CHECK(profile::for_version(v310).series == "4.15");
  REQUIRE(profile::older_than_modelled_note(v310));
  CHECK(*profile::older_than_modelled_note(v310) ==
        "kernel 3.10 is older than every modelled profile (4.15): the 4.15 rules are used");
  CHECK(profile::older_than_modelled(*cma::kernel_version::parse("2.6")));
  CHECK(profile::older_than_modelled(*cma::kernel_version::parse("4.14.300")));
  // 4.15 itself and everything above map to a modelled series: no note.
  for (const char* v : {"4.15", "4.19", "5.10", "6.1", "6.12", "7.0"}) {
    INFO(v);
    CHECK_FALSE(profile::older_than_modelled_note(*cma::kernel_version::parse(v)));
  }
  CHECK(profile::oldest_modelled().str() == profile::modelled_series().front());
}
