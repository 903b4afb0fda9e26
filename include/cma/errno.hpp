// cma/errno.hpp — the error codes mm/cma.c reports, as negative ints.
//
// The kernel returns `-ENOMEM` / `-EBUSY` (include/uapi/asm-generic/errno-base.h);
// the model reports the same numbers so they can be compared with `ret: -12`
// in a log line or `errorno=-16` in a trace event without translation.
#pragma once

#include <string_view>

namespace cma {

inline constexpr int enomem = -12; ///< no free window of the requested size and alignment
inline constexpr int ebusy = -16;  ///< a window was found but its pages could not be migrated
inline constexpr int einval = -22; ///< invalid argument (release outside the area, bad config)
inline constexpr int eintr = -4;   ///< alloc_contig_range interrupted by a fatal signal

/// The kernel's symbolic name of an error code ("ENOMEM"), or "" if unknown.
constexpr std::string_view errno_name(int err) noexcept {
  switch (err) {
  case 0: return "0";
  case enomem: return "ENOMEM";
  case ebusy: return "EBUSY";
  case einval: return "EINVAL";
  case eintr: return "EINTR";
  default: return "";
  }
}

} // namespace cma
