// sim/diagnosis_print.hpp — cma::diagnose's findings as text and as JSON (schema 1).
//
// Shared by `cmasim diagnose` (the whole report) and `cmasim replay` (its failed
// allocations from a log without trace events).  JSON, documented in README:
//   { "schema": 1, "areas": [ {name, base, size, source} ],
//     "findings": [ {cause, why, area, count, errno, occurrences, suppressed, first, last,
//                    evidence: [ {file, line} ], explanation, advice, fallback, during_boot, align, align_source} ],
//     "notes": [ … ], "trace": {failed, unreported} }  (trace: the failed allocations a trace beside the
//     log shows, and how many of them no failure line reports; 0/0 without a trace)
// base/size in bytes (null when the log does not say), first/last in seconds since boot.
#pragma once

#include <cma/diagnose/diagnose.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace cmasim {

inline constexpr int diagnosis_schema = 1;

/// Text lines of a diagnosis; `file_name(i)` names input i.
inline std::vector<std::string> diagnosis_text(const cma::diagnose::diagnosis& d,
                                               const std::function<std::string(unsigned)>& file_name,
                                               bool with_areas = true) {
  namespace dg = cma::diagnose;
  std::vector<std::string> out;
  if (with_areas) {
    for (const auto& a : d.areas)
      out.push_back(fmt::format("area {}: {}{}, from {}", a.name,
                                a.size ? fmt::format("{} MiB", *a.size >> 20) : std::string("size unknown"),
                                a.base ? fmt::format(" at {:#x}", *a.base) : std::string(), a.source));
    if (d.areas.empty()) out.push_back("area: the log declares none");
  }
  for (const auto& n : d.notes) out.push_back("note: " + n);
  for (const auto& f : d.findings) {
    std::string head = fmt::format("{}{}", dg::name(f.c), f.why ? fmt::format(" ({})", dg::name(*f.why)) : std::string());
    std::string what;
    if (!f.area.empty()) what += " area " + f.area;
    if (f.count) what += fmt::format(", {} pages", *f.count);
    if (f.err) what += fmt::format(", {} ({})", *f.err, cma::errno_name(*f.err));
    std::string times = f.occurrences > 1 ? fmt::format(" × {}", f.occurrences) : std::string();
    if (f.suppressed) times += fmt::format(" (and at least {} more not printed)", f.suppressed);
    if (f.first && f.last && *f.first != *f.last) times += fmt::format(", {:.3f}–{:.3f} s", *f.first, *f.last);
    else if (f.first) times += fmt::format(", at {:.3f} s", *f.first);
    out.push_back(head + ":" + what + times);
    out.push_back("  " + f.explanation);
    if (f.align && (f.c == dg::cause::fragmented || f.c == dg::cause::exhausted))
      out.push_back(fmt::format("  alignment searched: order {} ({})", *f.align, f.align_source));
    if (dg::is_failure(f.c) && f.count && f.c != dg::cause::driver_failure) {
      out.push_back("  page-allocator fallback: " + f.fallback);
      out.push_back(std::string("  during boot: ") +
                    (f.during_boot ? (*f.during_boot ? "yes (before init ran)" : "no (after init ran)")
                                   : "unknown (the log has no 'Run /init' line)"));
    }
    out.push_back("  advice: " + f.advice);
    std::string ev;
    for (const auto& e : f.ev) ev += fmt::format("{}{}:{}", ev.empty() ? "" : ", ", file_name(e.file), e.line);
    out.push_back("  evidence: " + ev + (f.occurrences > f.ev.size() ? ", …" : ""));
  }
  return out;
}

inline nlohmann::json diagnosis_json(const cma::diagnose::diagnosis& d, const std::function<std::string(unsigned)>& file_name) {
  namespace dg = cma::diagnose;
  nlohmann::json j;
  j["schema"] = diagnosis_schema;
  j["trace"] = {{"failed", d.traced_failures}, {"unreported", d.traced_unreported}};
  j["areas"] = nlohmann::json::array();
  for (const auto& a : d.areas)
    j["areas"].push_back({{"name", a.name},
                          {"base", a.base ? nlohmann::json(*a.base) : nlohmann::json()},
                          {"size", a.size ? nlohmann::json(*a.size) : nlohmann::json()},
                          {"source", a.source}});
  j["findings"] = nlohmann::json::array();
  for (const auto& f : d.findings) {
    nlohmann::json e = nlohmann::json::array();
    for (const auto& x : f.ev) e.push_back({{"file", file_name(x.file)}, {"line", x.line}});
    const auto opt = [](const auto& o) { return o ? nlohmann::json(*o) : nlohmann::json(); };
    j["findings"].push_back({{"cause", std::string(dg::name(f.c))},
                             {"why", f.why ? nlohmann::json(std::string(dg::name(*f.why))) : nlohmann::json()},
                             {"area", f.area},
                             {"count", opt(f.count)},
                             {"errno", opt(f.err)},
                             {"occurrences", f.occurrences},
                             {"suppressed", f.suppressed},
                             {"first", opt(f.first)},
                             {"last", opt(f.last)},
                             {"evidence", e},
                             {"explanation", f.explanation},
                             {"advice", f.advice},
                             {"fallback", f.fallback},
                             {"during_boot", f.during_boot ? nlohmann::json(*f.during_boot) : nlohmann::json()},
                             {"align", opt(f.align)},
                             {"align_source", f.align_source}});
  }
  j["notes"] = d.notes;
  return j;
}

} // namespace cmasim
