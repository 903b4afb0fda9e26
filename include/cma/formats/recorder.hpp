// cma/formats/recorder.hpp — the recorder's own console lines (steps.txt, console.log).
//
//   "@@STEP N rc=R cmd=<cmd> | CmaTotal: N kB CmaFree: N kB <vmstat…>"   after each step
//   "@@STEP N cmd=<cmd>"                                                   (list/mem steps)
//   "@@LIVE id=N size=N pages=N pfn=0x… phys=0x… cma=<-1|0|1> mode=…"      live allocations
//   "id=N size=N pages=N pfn=0x… …"                                        the same, from live.txt
//   any other "@@…" line is a section marker and carries nothing.
// Written by sim/recorder (and the recorder of ../shared/traces); not a kernel format.
#pragma once

#include "detail/scan.hpp"
#include "parsed.hpp"

#include <string>
#include <string_view>

namespace cma::formats::recorder {

inline parsed_line parse_line(std::string_view line) {
  using namespace cma::formats::detail;
  auto s = trim(line);
  // live.txt (also dumped into console.log) lists live allocations without the @@LIVE tag
  if (starts_with(s, "id=") && s.find(" pages=") != std::string_view::npos && s.find(" pfn=0x") != std::string_view::npos)
    return parse_line("@@LIVE " + std::string(s));
  if (!eat(s, "@@")) return parsed_line::foreign();
  if (eat(s, "STEP ")) {
    ev::step_result e;
    auto n = eat_u64(s);
    if (!n) return parsed_line::bad("@@STEP: expected a step number");
    e.n = static_cast<unsigned>(*n);
    auto bar = s.find(" | ");
    auto head = s.substr(0, bar);
    if (auto rc = field(head, "rc")) e.rc = to_int(*rc);
    if (auto c = head.find("cmd="); c != std::string_view::npos) e.cmd = std::string(trim(head.substr(c + 4)));
    if (bar != std::string_view::npos) {
      auto tail = s.substr(bar + 3);
      for (auto [key, dst] : {std::pair{std::string_view("CmaTotal: "), &e.cma_total_kb},
                              std::pair{std::string_view("CmaFree: "), &e.cma_free_kb}}) {
        auto i = tail.find(key);
        if (i == std::string_view::npos) continue;
        auto v = tail.substr(i + key.size());
        *dst = eat_u64(v);
      }
    }
    return parsed_line::ok(std::move(e));
  }
  if (eat(s, "LIVE ")) {
    auto id = field(s, "id"), pages = field(s, "pages"), pfn = field(s, "pfn"), cma = field(s, "cma");
    auto idn = id ? to_u64(*id) : std::nullopt;
    auto pn = pages ? to_u64(*pages) : std::nullopt;
    auto pf = pfn ? to_u64(*pfn, 16) : std::nullopt;
    if (!idn || !pn || !pf) return parsed_line::bad("@@LIVE: expected id=, pages=, pfn=0x<hex>");
    return parsed_line::ok(ev::live_allocation{*idn, *pn, *pf, cma && *cma == "1"});
  }
  return parsed_line::skip();
}

} // namespace cma::formats::recorder
