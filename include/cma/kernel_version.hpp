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

  /// Parses "6", "6.1", "6.1.0-56-arm64", "v6.12.117+deb12": leading "v" optional,
  /// anything after the numeric part ignored.  nullopt when there is no number.
  static std::optional<kernel_version> parse(std::string_view s) noexcept {
    if (!s.empty() && (s.front() == 'v' || s.front() == 'V')) s.remove_prefix(1);
    kernel_version v;
    int* parts[] = {&v.major, &v.minor, &v.patch};
    const char* p = s.data();
    const char* end = s.data() + s.size();
    for (int i = 0; i < 3; ++i) {
      auto [q, ec] = std::from_chars(p, end, *parts[i]);
      if (ec != std::errc{}) {
        if (i == 0) return std::nullopt;
        break;
      }
      p = q;
      if (p == end || *p != '.') break;
      ++p;
    }
    if (v.major < 2 || v.major > 99 || v.minor < 0 || v.minor > 99) return std::nullopt;
    return v;
  }
};

} // namespace cma
