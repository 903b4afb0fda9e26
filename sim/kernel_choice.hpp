// sim/kernel_choice.hpp — which --kernel the emulating commands (emulate, mount) accept.
//
// A series cmasim models (cma::profile::modelled_series: "4.15" … "7.3"), or a release of
// one ("6.1.0-57-arm64"): the emulation applies that series' rules.
#pragma once

#include <cma/kernel_version.hpp>
#include <cma/profile.hpp>

#include <optional>
#include <string>

namespace cmasim {

/// True for "6.1", "6.12", "6.1.0-57-arm64": a series cmasim models (profile.hpp).
inline std::optional<cma::kernel_version> supported_kernel(const std::string& k) {
  const auto v = cma::kernel_version::parse(k);
  if (!v) return std::nullopt;
  for (const auto s : cma::profile::modelled_series()) {
    const auto sv = cma::kernel_version::parse(s);
    if (sv && sv->major == v->major && sv->minor == v->minor) return v;
  }
  return std::nullopt;
}

inline std::string series_list() {
  std::string out;
  for (const auto s : cma::profile::modelled_series()) out += (out.empty() ? "" : ", ") + std::string(s);
  return out;
}

} // namespace cmasim
