// cma/formats/parsed.hpp — what a format parser says about one line.
#pragma once

#include "event.hpp"

#include <optional>
#include <string>
#include <utility>

namespace cma::formats {

enum class line_status {
  event,     ///< understood: `event` holds it
  skip,      ///< understood and deliberately carries nothing (headers, blank, markers of no interest)
  foreign,   ///< not this format
  malformed, ///< this format, but a field is missing or out of range: `why` says which
};

struct parsed_line {
  line_status status = line_status::foreign;
  std::optional<ev::event> event;
  std::optional<double> time; ///< timestamp the line carried, seconds
  std::string why;            ///< for malformed: what was expected

  static parsed_line foreign() { return {}; }
  static parsed_line skip() { return {line_status::skip, std::nullopt, std::nullopt, {}}; }
  static parsed_line bad(std::string why) { return {line_status::malformed, std::nullopt, std::nullopt, std::move(why)}; }
  /// `e` is one event alternative (or an ev::event); built in place, moved once.
  template <class E>
  static parsed_line ok(E&& e, std::optional<double> t = std::nullopt) {
    parsed_line p;
    p.status = line_status::event;
    p.event.emplace(std::forward<E>(e));
    p.time = t;
    return p;
  }
};

} // namespace cma::formats
