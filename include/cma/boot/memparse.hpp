// cma/boot/memparse.hpp — the kernel's memparse(): "64M", "0x48000000", "1G" → bytes.
//
// Models lib/cmdline.c memparse() with lib/vsprintf.c simple_strtoull() and
// lib/kstrtox.c _parse_integer_fixup_radix()/_parse_integer_limit(), read in
// 6.1.192 (identical in 4.15 → 6.19 per KERNEL-FACTS §5.1):
//  - the base is auto-detected: "0x"/"0X" followed by a hex digit → 16 (the
//    prefix is skipped), a leading '0' otherwise → 8, anything else → 10;
//  - digits are consumed while they are valid in that base; the value wraps
//    modulo 2^64 on overflow (the kernel computes an overflow flag and
//    simple_strtoull ignores it);
//  - then at most one suffix letter, case-insensitive: K M G T P E shift left by
//    10 20 30 40 50 60 bits (the shift also wraps), and only that letter is consumed.
// No sign and no leading whitespace are accepted: "-1" parses as 0 and stops at '-'.
// A string_view has no terminating NUL; reading past its end behaves like the
// kernel reading the NUL ("0x" at the end of the text is octal 0, stop at 'x').
//
// Invariant: consumed <= text.size(); value depends only on text[0, consumed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace cma {

struct memparse_result {
  std::uint64_t value = 0;   ///< bytes (or a plain number when there is no suffix)
  std::size_t consumed = 0;  ///< characters read: digits, base prefix and suffix
};

namespace detail {

/// The character at i, or NUL past the end (what the kernel sees after the string).
constexpr char char_at(std::string_view s, std::size_t i) noexcept {
  return i < s.size() ? s[i] : '\0';
}

constexpr bool is_xdigit(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// Digit value as _parse_integer_limit computes it, or 16 when c is not a digit.
constexpr unsigned digit_value(char c) noexcept {
  const unsigned uc = static_cast<unsigned char>(c);
  const unsigned lc = uc | 0x20U; // the kernel lower-cases by OR-ing 0x20
  if (uc >= '0' && uc <= '9') return uc - '0';
  if (lc >= 'a' && lc <= 'f') return lc - 'a' + 10;
  return 16;
}

/// _parse_integer_fixup_radix with base 0: returns {base, prefix length}.
constexpr std::pair<unsigned, std::size_t> fixup_radix(std::string_view s) noexcept {
  if (char_at(s, 0) != '0') return {10, 0};
  const char x = char_at(s, 1);
  if ((x == 'x' || x == 'X') && is_xdigit(char_at(s, 2))) return {16, 2};
  return {8, 0};
}

/// simple_strtoull(s, &end, 0): {value, characters consumed}.
constexpr memparse_result simple_strtoull(std::string_view s) noexcept {
  const auto [base, prefix] = fixup_radix(s);
  memparse_result r{0, prefix};
  for (; r.consumed < s.size(); ++r.consumed) {
    const unsigned d = digit_value(s[r.consumed]);
    if (d >= base) break;
    r.value = r.value * base + d; // wraps like the kernel's u64 arithmetic
  }
  return r;
}

/// Shift of a memparse suffix letter, or -1 when c is not one.
constexpr int suffix_shift(char c) noexcept {
  switch (c) {
  case 'K': case 'k': return 10;
  case 'M': case 'm': return 20;
  case 'G': case 'g': return 30;
  case 'T': case 't': return 40;
  case 'P': case 'p': return 50;
  case 'E': case 'e': return 60;
  default: return -1;
  }
}

} // namespace detail

/// memparse(text, &end): the value and how far the kernel's pointer advanced.
constexpr memparse_result memparse(std::string_view text) noexcept {
  memparse_result r = detail::simple_strtoull(text);
  const int shift = detail::suffix_shift(detail::char_at(text, r.consumed));
  if (shift > 0) {
    r.value <<= shift;
    ++r.consumed;
  }
  return r;
}

/// A memparse-able spelling of bytes: the largest exact K/M/G/T/P/E suffix, else
/// "0x…" hex.  Invariant: memparse(format_memparse(v)).value == v for every v.
inline std::string format_memparse(std::uint64_t bytes) {
  static constexpr char suffixes[] = {'E', 'P', 'T', 'G', 'M', 'K'};
  if (bytes != 0) {
    for (int i = 0; i < 6; ++i) {
      const int shift = 60 - 10 * i;
      const std::uint64_t unit = std::uint64_t{1} << shift;
      if (bytes % unit == 0) return std::to_string(bytes >> shift) + suffixes[i];
    }
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string digits;
  do {
    digits.insert(digits.begin(), hex[bytes & 0xF]);
    bytes >>= 4;
  } while (bytes != 0);
  return "0x" + digits;
}

} // namespace cma
