// cma/kernel_version.hpp — a kernel release number ("6.1", "6.12.117").
//
// Only major.minor decide behaviour: every rule in KERNEL-FACTS.md is pinned to a
// major.minor series (6.1.0 and 6.1.192 behave alike for cma_alloc/cma_release).
// The patch level is kept for display only.
#pragma once

#include <charconv>
#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace cma {

struct kernel_version {
  int major = 0;
  int minor = 0;
  int patch = 0; ///< informational; never used to select behaviour

  friend constexpr auto operator<=>(const kernel_version& a, const kernel_version& b) noexcept {
    if (auto c = a.major <=> b.major; c != 0) return c;
    return a.minor <=> b.minor;
  }
  friend constexpr bool operator==(const kernel_version& a, const kernel_version& b) noexcept {
    return a.major == b.major && a.minor == b.minor;
  }

  std::string str() const {
    return std::to_string(major) + "." + std::to_string(minor);
  }

  /// Parses a release string: "6", "6.1", "6.1.0-56-arm64", "v6.12.117+deb12",
  /// "4.15.0-20-generic", "2.6.32.27".  Leading "v" optional; one to four numeric
  /// components separated by single dots (the fourth, as in 2.6.x.y, is dropped);
  /// after them only the end of the text, a release suffix (starting with '-', '+',
  /// '~' or '_': "-rc3", "+deb12", "-56-arm64", and anything after it) or
  /// whitespace (the release was one word of a longer text, e.g. a command line's
  /// BOOT_IMAGE=/boot/vmlinuz-6.1.0 root=…).  nullopt for anything else — "6..1",
  /// "6.", "6.1x", "-1", ".6", a component too large for an int — so that a typo is
  /// reported instead of being read as another version.
  static std::optional<kernel_version> parse(std::string_view s) noexcept {
    if (!s.empty() && (s.front() == 'v' || s.front() == 'V')) s.remove_prefix(1);
    kernel_version v;
    int fourth = 0;
    int* parts[] = {&v.major, &v.minor, &v.patch, &fourth};
    const char* p = s.data();
    const char* end = s.data() + s.size();
    for (int i = 0; i < 4; ++i) {
      if (p == end || *p < '0' || *p > '9') return std::nullopt; // empty component or sign
      auto [q, ec] = std::from_chars(p, end, *parts[i]);
      if (ec != std::errc{}) return std::nullopt;
      p = q;
      if (p == end || *p != '.') break;
      ++p; // a '.' must be followed by another component
      if (i == 3) return std::nullopt; // a fifth component
    }
    if (p != end) {
      const char c = *p;
      const bool suffix = c == '-' || c == '+' || c == '~' || c == '_';
      const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
      if (!suffix && !space) return std::nullopt;
    }
    if (v.major < 2 || v.major > 99 || v.minor < 0 || v.minor > 99) return std::nullopt;
    return v;
  }
};

} // namespace cma
