// cma/device/simple_attr.hpp — fs/libfs.c simple_attr_read() / simple_attr_write(), the
// handlers behind DEFINE_SIMPLE_ATTRIBUTE (4.15) and DEFINE_DEBUGFS_ATTRIBUTE (5.10+).
//
// Every debugfs file of mm/cma_debug.c except `bitmap` is one of these.
//
// Read: the getter's u64 printed with the attribute's format — "%llu\n" for every CMA
// file — into a 24-byte buffer (20 digits and a newline always fit).  No getter: -EACCES.
//
// Write: at most the first 23 bytes of the input are looked at (set_buf is 24 bytes with
// a terminating NUL); the rest is ignored but still counted as written.  No setter:
// -EACCES.  The text becomes a u64 in one of two ways:
//   * 4.15 (up to 5.9): simple_strtoll(buf, NULL, 0).  An optional '-' (the value is then
//     negated modulo 2^64), base from the prefix ("0x" before a hex digit: 16, a leading
//     "0": 8, else 10), digits until the first character that is not one; overflow wraps
//     modulo 2^64.  Never an error: "abc", "" and " 5" all read as 0.
//   * 5.10+: kstrtoull(buf, 0, &val), since "libfs: fix error cast of negative value in
//     simple_attr_write()" (commit 488dac0c9237, merged for 5.10-rc5).  An optional '+',
//     the same base rule, at least one digit, then at most one '\n' and the end of the
//     text.  Anything else is -EINVAL (so "-5", " 5", "5 pages", ""), a value past 2^64 - 1
//     is -ERANGE; the setter is not called then.
// Once parsed, the setter's return value decides: 0 → the write reports the whole input
// length as consumed (even the bytes past 23), anything else is returned as the error.
//
// Knowingly different: the kernel takes the attribute's mutex (interruptibly: -EINTR on a
// signal) and copies from user space (-EFAULT); a pure model has neither.  Ubuntu's and
// other vendors' 4.15-based kernels may carry the 5.10 parser as a backport; the rule
// here follows kernel.org's 4.15.
#pragma once

#include "../kernel_version.hpp"
#include "../profile.hpp"
#include "file_result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cma::device {

/// sizeof(attr->set_buf) - 1: the bytes of a write the parser sees.
inline constexpr std::size_t simple_attr_set_buf_len = 23;

/// A parsed write: the value, or the errno simple_attr_write returns before the setter.
struct simple_attr_value {
  int err = 0;           ///< 0, -EINVAL or -ERANGE
  std::uint64_t val = 0; ///< the u64 the setter receives
  bool ok() const noexcept { return err == 0; }
};

/// Does this version parse with kstrtoull (5.10+) rather than simple_strtoll?
inline bool simple_attr_uses_kstrtoull(const profile& p) noexcept { return p.version >= kernel_version{5, 10, 0}; }

namespace detail {

// lib/kstrtox.c _parse_integer_fixup_radix() with base 0.
inline unsigned fixup_radix(std::string_view& s) noexcept {
  const auto lower = [](char c) { return static_cast<char>(c | 0x20); };
  const auto xdigit = [&](char c) { return (c >= '0' && c <= '9') || (lower(c) >= 'a' && lower(c) <= 'f'); };
  if (!s.empty() && s[0] == '0') {
    if (s.size() >= 3 && lower(s[1]) == 'x' && xdigit(s[2])) {
      s.remove_prefix(2);
      return 16;
    }
    return 8;
  }
  return 10;
}

// lib/kstrtox.c _parse_integer(): digits consumed, value modulo 2^64, overflow flag.
struct parsed_integer {
  std::size_t digits = 0;
  std::uint64_t value = 0;
  bool overflow = false;
};
inline parsed_integer parse_integer(std::string_view s, unsigned base) noexcept {
  parsed_integer r;
  for (char c : s) {
    unsigned v;
    if (c >= '0' && c <= '9') v = static_cast<unsigned>(c - '0');
    else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') v = static_cast<unsigned>((c | 0x20) - 'a' + 10);
    else break;
    if (v >= base) break;
    if (r.value > (UINT64_MAX - v) / base) r.overflow = true;
    r.value = r.value * base + v; // wraps, as the kernel's does
    ++r.digits;
  }
  return r;
}

} // namespace detail

/// The u64 simple_attr_write hands to the setter, for this version.
inline simple_attr_value simple_attr_parse(std::string_view input, const profile& p) noexcept {
  std::string_view s = input.substr(0, simple_attr_set_buf_len);
  if (const auto nul = s.find('\0'); nul != std::string_view::npos) s = s.substr(0, nul); // a C string
  if (!simple_attr_uses_kstrtoull(p)) { // lib/vsprintf.c simple_strtoll
    bool neg = false;
    if (!s.empty() && s[0] == '-') {
      neg = true;
      s.remove_prefix(1);
    }
    const unsigned base = detail::fixup_radix(s);
    const auto r = detail::parse_integer(s, base);
    return {0, neg ? std::uint64_t{0} - r.value : r.value};
  }
  if (!s.empty() && s[0] == '+') s.remove_prefix(1); // lib/kstrtox.c _kstrtoull
  const unsigned base = detail::fixup_radix(s);
  const auto r = detail::parse_integer(s, base);
  if (r.overflow) return {erange, 0};
  if (r.digits == 0) return {einval, 0};
  std::string_view rest = s.substr(r.digits);
  if (!rest.empty() && rest[0] == '\n') rest.remove_prefix(1);
  if (!rest.empty()) return {einval, 0};
  return {0, r.value};
}

/// What a simple_attr file reads as: the getter's value through "%llu\n".
inline std::string simple_attr_llu(std::uint64_t val) { return std::to_string(val) + "\n"; }

/// write(2)'s return for a setter that returned `setter_ret` on `input`.
inline write_result simple_attr_written(std::string_view input, int setter_ret) noexcept {
  if (setter_ret != 0) return {setter_ret, 0};
  return {0, input.size()};
}

} // namespace cma::device
