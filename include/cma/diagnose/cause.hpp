// cma/diagnose/cause.hpp — the fixed vocabulary of why a CMA allocation or reservation failed.
//
// Every finding of `cmasim diagnose` carries one cause (README "Causes" and --json
// findings[].cause use these names, nothing else):
//   fragmented          -ENOMEM with at least `count` pages free, but no window of that size
//                       and alignment (computed from the show_areas state printed with it)
//   exhausted           -ENOMEM with fewer than `count` pages free
//   too-large           the request is larger than the area (or its largest range)
//   no-window           -ENOMEM, and the log does not show the occupancy
//   busy                -EBUSY, or a burst of busy windows that ended in a failure
//   busy-retries        busy windows with no failure: the allocation moved past them
//   reservation-failed  the boot could not reserve an area (`why`: reservation_why)
//   cmdline-overrides-dt  cma= on the command line bypassed the DT linux,cma node
//   driver-failure      a driver reports a failed contiguous allocation with no CMA line by it
// Pure: names only.
#pragma once

#include <string_view>

namespace cma::diagnose {

enum class cause { fragmented, exhausted, too_large, no_window, busy, busy_retries, reservation_failed,
                   cmdline_overrides_dt, driver_failure };

constexpr std::string_view name(cause c) noexcept {
  switch (c) {
  case cause::fragmented: return "fragmented";
  case cause::exhausted: return "exhausted";
  case cause::too_large: return "too-large";
  case cause::no_window: return "no-window";
  case cause::busy: return "busy";
  case cause::busy_retries: return "busy-retries";
  case cause::reservation_failed: return "reservation-failed";
  case cause::cmdline_overrides_dt: return "cmdline-overrides-dt";
  case cause::driver_failure: return "driver-failure";
  }
  return "";
}

/// Why a reservation failed (findings[].why for reservation-failed).
enum class reservation_why { alignment, boundary, too_large, overlap, limit, outside_ram, unknown };

constexpr std::string_view name(reservation_why w) noexcept {
  switch (w) {
  case reservation_why::alignment: return "alignment";
  case reservation_why::boundary: return "boundary";
  case reservation_why::too_large: return "too-large";
  case reservation_why::overlap: return "overlap";
  case reservation_why::limit: return "limit";
  case reservation_why::outside_ram: return "outside-ram";
  case reservation_why::unknown: return "unknown";
  }
  return "";
}

/// Is this cause a failure (exit 3), or context?
constexpr bool is_failure(cause c) noexcept { return c != cause::busy_retries && c != cause::cmdline_overrides_dt; }

} // namespace cma::diagnose
