// cma/formats/detail/scan.hpp — small, allocation-free text scanning shared by the parsers.
//
// Every number parser rejects overflow and empty input rather than wrapping, so a
// huge or negative value in a log line is reported as "not understood", never
// silently turned into a different number.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cma::formats::detail {

inline bool starts_with(std::string_view s, std::string_view p) noexcept { return s.substr(0, p.size()) == p; }

inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

/// Unsigned number, whole string; base 16 accepts an optional 0x.
inline std::optional<std::uint64_t> to_u64(std::string_view s, int base = 10) noexcept {
  if (base == 16 && (starts_with(s, "0x") || starts_with(s, "0X"))) s.remove_prefix(2);
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

/// Signed int, whole string.
inline std::optional<int> to_int(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

/// Consumes `p` from the front of s if present.
inline bool eat(std::string_view& s, std::string_view p) noexcept {
  if (!starts_with(s, p)) return false;
  s.remove_prefix(p.size());
  return true;
}

/// The text up to (not including) the first `delim`, consumed with the delimiter.
inline std::optional<std::string_view> until(std::string_view& s, std::string_view delim) noexcept {
  const auto i = s.find(delim);
  if (i == std::string_view::npos) return std::nullopt;
  auto head = s.substr(0, i);
  s.remove_prefix(i + delim.size());
  return head;
}

/// A decimal number at the front of s (consumed).
inline std::optional<std::uint64_t> eat_u64(std::string_view& s, int base = 10) noexcept {
  if (base == 16) eat(s, "0x");
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc{} || p == s.data()) return std::nullopt;
  s.remove_prefix(static_cast<std::size_t>(p - s.data()));
  return v;
}
inline std::optional<int> eat_int(std::string_view& s) noexcept {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p == s.data()) return std::nullopt;
  s.remove_prefix(static_cast<std::size_t>(p - s.data()));
  return v;
}

/// Value of `key=` in a space-separated key=value list ("" key absent → nullopt).
inline std::optional<std::string_view> field(std::string_view s, std::string_view key) noexcept {
  std::size_t pos = 0;
  while (pos < s.size()) {
    const auto i = s.find(key, pos);
    if (i == std::string_view::npos) return std::nullopt;
    const bool at_word = i == 0 || s[i - 1] == ' ';
    if (at_word && i + key.size() < s.size() + 1 && s.substr(i + key.size(), 1) == "=") {
      auto v = s.substr(i + key.size() + 1);
      return v.substr(0, v.find(' '));
    }
    pos = i + 1;
  }
  return std::nullopt;
}

inline bool icontains(std::string_view s, std::string_view needle) noexcept {
  if (needle.size() > s.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= s.size(); ++i) {
    std::size_t k = 0;
    while (k < needle.size()) {
      char a = s[i + k], b = needle[k];
      if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
      if (a != b) break;
      ++k;
    }
    if (k == needle.size()) return true;
  }
  return false;
}

} // namespace cma::formats::detail
