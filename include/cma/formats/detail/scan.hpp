// cma/formats/detail/scan.hpp — small, allocation-free text scanning shared by the parsers.
//
// Every number parser rejects overflow and empty input rather than wrapping, so a
// huge or negative value in a log line is reported as "not understood", never
// silently turned into a different number.
#pragma once

#include <array>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace cma::formats::detail {

inline bool starts_with(std::string_view s, std::string_view p) noexcept { return s.substr(0, p.size()) == p; }

/// a == b for the short strings of a trace line (event names, keys, area names), where
/// == calls memcmp: words compared, the last one overlapping the one before (a key of
/// 4 to 8 bytes is two loads a side, a name of 9 to 16 four).
inline bool same(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char *p = a.data(), *q = b.data();
  const auto eq = [p, q]<class W>(std::size_t at, W) {
    W x, y;
    std::memcpy(&x, p + at, sizeof x);
    std::memcpy(&y, q + at, sizeof y);
    return x == y;
  };
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8)
      if (!eq(i, std::uint64_t{})) return false;
    return eq(n - 8, std::uint64_t{});
  }
  if (n >= 4) return eq(0, std::uint32_t{}) && eq(n - 4, std::uint32_t{});
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != q[i]) return false;
  return true;
}

/// The bytes trim() drops.
constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/// How many blanks s starts with.  ftrace right-aligns the task name: most trace lines
/// start with a dozen spaces, skipped 8 at a time.
inline std::size_t leading_blanks(std::string_view s) noexcept {
  constexpr std::uint64_t eight_spaces = 0x2020202020202020ull;
  std::size_t i = 0;
  for (std::uint64_t w; i + 8 <= s.size() && (std::memcpy(&w, s.data() + i, 8), w == eight_spaces);) i += 8;
  while (i < s.size() && is_blank(s[i])) ++i;
  return i;
}

inline std::string_view trim(std::string_view s) noexcept {
  if (!s.empty() && !is_blank(s.front()) && !is_blank(s.back())) return s; // nothing to trim: most calls
  s.remove_prefix(leading_blanks(s));
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

/// Is the first byte that trim() keeps a '#'?  (A comment or header line, told
/// without trimming the line.)
inline bool starts_with_hash(std::string_view s) noexcept {
  const std::size_t i = leading_blanks(s);
  return i < s.size() && s[i] == '#';
}

/// A digit's value in bases up to 36 ('a'/'A' = 10), or 255.
constexpr unsigned digit_value(char c) noexcept {
  if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
  if (c >= 'a' && c <= 'z') return static_cast<unsigned>(c - 'a' + 10);
  if (c >= 'A' && c <= 'Z') return static_cast<unsigned>(c - 'A' + 10);
  return 255;
}

/// Unsigned number, whole string; base 16 accepts an optional 0x.  The answers of
/// std::from_chars (digits only, no sign, overflow rejected), as a loop the compiler
/// inlines: a trace line has five numbers.
inline std::optional<std::uint64_t> to_u64(std::string_view s, int base = 10) noexcept {
  if (base == 16 && (starts_with(s, "0x") || starts_with(s, "0X"))) s.remove_prefix(2);
  if (s.empty()) return std::nullopt;
  const auto b = static_cast<unsigned>(base);
  std::uint64_t v = 0;
  // 16 hex or 19 decimal digits cannot overflow: no checks (a %p page is 16 digits).
  if (s.size() <= (b == 16 ? 16u : b == 10 ? 19u : 0u)) {
    for (const char c : s) {
      const unsigned d = digit_value(c);
      if (d >= b) return std::nullopt;
      v = v * b + d;
    }
    return v;
  }
  for (const char c : s) {
    const unsigned d = digit_value(c);
    if (d >= b || __builtin_mul_overflow(v, std::uint64_t{b}, &v) || __builtin_add_overflow(v, std::uint64_t{d}, &v))
      return std::nullopt;
  }
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

/// Walks the key=value tokens of a space-separated list, in order: tokens are split
/// at ' ', a key ends at its token's first '=', tokens without '=' are skipped.
/// f(key, value) returns true to stop the walk.  The one tokenizer behind field()
/// and key_values, so both always give the same answers.
template <class F> void for_each_key_value(std::string_view s, F&& f) {
  constexpr auto none = std::string_view::npos;
  std::size_t i = 0;
  const std::size_t n = s.size();
  // One pass over the bytes (tokens are short: a memchr per token costs more than it saves).
  while (i < n) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    const std::size_t start = i;
    std::size_t eq = none;
    for (; i < n && s[i] != ' '; ++i)
      if (s[i] == '=' && eq == none) eq = i;
    if (eq != none && f(s.substr(start, eq - start), s.substr(eq + 1, i - eq - 1))) return;
  }
}

/// Value of `key=` in a space-separated key=value list (the first one; absent → nullopt).
inline std::optional<std::string_view> field(std::string_view s, std::string_view key) noexcept {
  std::optional<std::string_view> found;
  for_each_key_value(s, [&](std::string_view k, std::string_view v) {
    if (k == key) found = v;
    return found.has_value();
  });
  return found;
}

/// The key=value pairs of a field list, split once so that each lookup is a short
/// walk over at most `capacity` keys instead of a search of the whole text; the same
/// tokenizer as field(), the first occurrence wins, and a list longer than `capacity`
/// falls back to field().
class key_values {
public:
  static constexpr std::size_t capacity = 12;

  explicit key_values(std::string_view s) noexcept : text_(s) {
    for_each_key_value(s, [&](std::string_view k, std::string_view v) {
      if (n_ == capacity) return overflow_ = true;
      keys_[n_] = k, values_[n_++] = v;
      return false;
    });
  }

  std::optional<std::string_view> get(std::string_view key) const noexcept {
    if (overflow_) return field(text_, key);
    for (std::size_t i = 0; i < n_; ++i)
      if (keys_[i] == key) return values_[i];
    return std::nullopt;
  }

private:
  std::string_view text_;
  std::array<std::string_view, capacity> keys_{}, values_{};
  std::size_t n_ = 0;
  bool overflow_ = false;
};

/// Reads "k1=v1 k2=v2 …" front to back, for a caller that knows the order the keys
/// come in (the kernel's TP_printk layout): no search, no split, one pass.  Each step
/// consumes exactly "key=value" and the one space after it, or fails for good; only
/// done() — every byte consumed, nothing failed — makes the answers count.  Then the
/// text was exactly those tokens, so each value is what key_values/field() would give;
/// on any other layout the caller reads the line with key_values instead.
class field_cursor {
public:
  explicit field_cursor(std::string_view s) noexcept : s_(s) {}

  bool done() const noexcept { return ok_ && s_.empty(); }
  bool at_end() const noexcept { return s_.empty(); }

  // Keys are literals, their length a template argument: each key compare is then a
  // fixed-size memcmp the compiler turns into a load and a compare.

  /// The value up to the next space.
  template <std::size_t N>
  std::string_view text(const char (&key)[N]) noexcept {
    if (!eat_key(key)) return {};
    std::size_t n = 0;
    while (n < s_.size() && s_[n] != ' ') ++n;
    const std::string_view v(s_.data(), n);
    s_.remove_prefix(n);
    eat_separator();
    return v;
  }

  /// An unsigned number (base 16: optional 0x) that is the whole value.  Fails on more
  /// digits than can be read without an overflow check (to_u64 then decides).  The base
  /// is a template argument: v * 16 is a shift, v * 10 two adds — a multiply per digit
  /// would be the longest chain of a trace line's parse.
  template <unsigned Base, std::size_t N>
  std::uint64_t number(const char (&key)[N]) noexcept {
    static_assert(Base == 10 || Base == 16);
    if (!eat_key(key)) return 0;
    if (Base == 16 && s_.size() >= 2 && s_[0] == '0' && (s_[1] == 'x' || s_[1] == 'X')) s_.remove_prefix(2);
    if constexpr (Base == 16 && std::endian::native == std::endian::little) { // a %p page: 16 digits, read 8 at a time
      std::uint64_t hi = 0, lo = 0;
      if (s_.size() >= 16 && (s_.size() == 16 || s_[16] == ' ') && hex8(s_.data(), hi) && hex8(s_.data() + 8, lo)) {
        s_.remove_prefix(16);
        eat_separator();
        return hi << 32 | lo;
      }
    }
    std::uint64_t v = 0;
    std::size_t n = 0;
    for (unsigned d; n < s_.size() && (d = small_digit(s_[n])) < Base; ++n) v = v * Base + d;
    if (n == 0 || n > (Base == 16 ? 16u : 19u)) return fail();
    s_.remove_prefix(n);
    if (!s_.empty() && s_.front() != ' ') return fail();
    eat_separator();
    return v;
  }

private:
  template <std::size_t N>
  bool eat_key(const char (&key)[N]) noexcept {
    constexpr std::size_t n = N - 1; // the literal's '\0'
    if (!ok_ || s_.size() <= n || s_[n] != '=' || std::memcmp(s_.data(), key, n) != 0) return fail(), false;
    s_.remove_prefix(n + 1);
    return true;
  }
  // Eight hex digits at p (first the most significant), all checked, as one 64-bit word:
  // each byte's range tested in its own lane (no carry crosses a lane, as every lane is
  // ASCII), then the nibbles packed pairwise.  False if any byte is not a hex digit.
  static bool hex8(const char* p, std::uint64_t& out) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    std::uint64_t x;
    std::memcpy(&x, p, 8); // little-endian: the first digit is the lowest byte
    if (x & high) return false;
    // 'A'-'F' as 'a'-'f', digits unchanged — but 0x10-0x19 would pass as digits too, so
    // the digit range is tested on the bytes as they are (the fuzzer's find)
    const std::uint64_t y = x | 0x2020202020202020ull;
    const auto in = [](std::uint64_t w, std::uint64_t lo, std::uint64_t hi) { // bit 7 of each lane: lo <= byte <= hi
      return (w + (0x80 - lo) * ones) & ~(w + (0x7f - hi) * ones) & high;
    };
    if ((in(x, '0', '9') | in(y, 'a', 'f')) != high) return false;
    std::uint64_t v = (y & 0x0f0f0f0f0f0f0f0full) + ((y >> 6) & ones) * 9; // one digit's value per byte
    v = ((v & 0x000f000f000f000full) << 4) | ((v & 0x0f000f000f000f00ull) >> 8);
    v = ((v & 0x000000ff000000ffull) << 8) | ((v & 0x00ff000000ff0000ull) >> 16);
    out = ((v & 0x000000000000ffffull) << 16) | ((v & 0x0000ffff00000000ull) >> 32);
    return true;
  }
  // digit_value for bases up to 16 as one table load: 255 for anything else.
  static unsigned small_digit(char c) noexcept {
    static constexpr auto table = [] {
      std::array<std::uint8_t, 256> t{};
      for (unsigned i = 0; i < 256; ++i) {
        const unsigned d = digit_value(static_cast<char>(i));
        t[i] = static_cast<std::uint8_t>(d < 16 ? d : 255);
      }
      return t;
    }();
    return table[static_cast<unsigned char>(c)];
  }
  // Exactly one space between tokens, none at the end (the fields come trimmed).
  void eat_separator() noexcept {
    if (s_.empty()) return;
    s_.remove_prefix(1);
    if (s_.empty() || s_.front() == ' ') fail();
  }
  std::uint64_t fail() noexcept { ok_ = false; return 0; }

  std::string_view s_;
  bool ok_ = true;
};

/// A "<secs>.<frac>" timestamp, exactly as std::from_chars would read it.  ftrace and
/// printk print up to 6 fractional digits: while the digits fit in 2^53 the value is
/// one correctly rounded division of two exact doubles, which is what from_chars
/// returns; anything longer or odd takes from_chars itself (libstdc++'s is slow).
inline std::optional<double> to_seconds(std::string_view s) noexcept {
  constexpr double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  std::uint64_t n = 0;
  std::size_t digits = 0, frac = 0;
  bool dot = false, fast = s.size() <= 16 && !s.empty();
  for (std::size_t i = 0; fast && i < s.size(); ++i) {
    const char c = s[i];
    if (c == '.' && !dot) dot = true;
    else if (c >= '0' && c <= '9') n = n * 10 + static_cast<std::uint64_t>(c - '0'), ++digits, frac += dot;
    else fast = false;
  }
  if (fast && digits > 0 && digits <= 15) return static_cast<double>(n) / pow10[frac];
  double t = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), t);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return t;
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
