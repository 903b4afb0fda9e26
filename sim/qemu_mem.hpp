// sim/qemu_mem.hpp — QEMU's `-m` size, as `cmasim boot --mem` and `cmasim emulate --mem` read it.
// (One parser for both: the emulation is told the same memory size as the real guest.)
#pragma once

#include "commands.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace cmasim {

// QEMU's -m size (softmmu/vl.c parse_memory_options, util/cutils.c qemu_strtosz):
// a decimal number, an optional fraction, an optional suffix B K M G T P E (either
// case, powers of 1024); without a suffix the number is MiB (QEMU appends "M" to
// a size that ends in a digit); the result is rounded up to 8 KiB as QEMU does.
// Hex, signs, spaces and anything after the suffix are refused.
inline std::uint64_t parse_qemu_mem(const std::string& text, const std::function<void(const std::string&)>& fail) {
  const auto bad = [&](const std::string& why) {
    fail("--mem '" + text + "': " + why + " (QEMU -m syntax: 1024, 1024M, 1G, 1.5G; a bare number is MiB)");
    throw CLI::RuntimeError(exit_usage); // fail() reports; it is not expected to return
  };
  std::size_t i = 0;
  std::uint64_t whole = 0;
  const std::size_t int_begin = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (whole > (UINT64_MAX - 9) / 10) bad("too large");
    whole = whole * 10 + unsigned(text[i++] - '0');
  }
  if (i == int_begin) bad("not a size");
  if (i + 1 < text.size() && text[int_begin] == '0' && (text[int_begin + 1] == 'x' || text[int_begin + 1] == 'X'))
    bad("hex is not accepted");
  std::uint64_t frac = 0, frac_scale = 1;
  if (i < text.size() && text[i] == '.') {
    ++i;
    const std::size_t fb = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (frac_scale < 1'000'000'000'000ULL) {
        frac = frac * 10 + unsigned(text[i] - '0');
        frac_scale *= 10;
      }
      ++i;
    }
    if (i == fb) bad("no digits after '.'");
  }
  unsigned shift = 20; // QEMU's legacy rule: no suffix means MiB
  if (i < text.size()) {
    switch (text[i]) {
    case 'B': case 'b': shift = 0; break;
    case 'K': case 'k': shift = 10; break;
    case 'M': case 'm': shift = 20; break;
    case 'G': case 'g': shift = 30; break;
    case 'T': case 't': shift = 40; break;
    case 'P': case 'p': shift = 50; break;
    case 'E': case 'e': shift = 60; break;
    default: bad("unknown suffix '" + text.substr(i, 1) + "'");
    }
    ++i;
  }
  if (i != text.size()) bad("trailing '" + text.substr(i) + "'");
  if (whole > (UINT64_MAX >> shift)) bad("too large");
  const unsigned __int128 part = static_cast<unsigned __int128>(frac) << shift;
  std::uint64_t bytes = (whole << shift) + static_cast<std::uint64_t>(part / frac_scale);
  if (bytes < (whole << shift)) bad("too large");
  if (bytes > UINT64_MAX - 8191) bad("too large");
  bytes = (bytes + 8191) & ~std::uint64_t{8191}; // QEMU_ALIGN_UP(sz, 8192)
  if (bytes == 0) bad("RAM size 0");
  return bytes;
}

} // namespace cmasim
