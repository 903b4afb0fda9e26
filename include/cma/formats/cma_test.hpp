// cma/formats/cma_test.hpp — log lines of the recording modules ("cma_test: …").
//
// Two producers:
//   * cmasim's own module, kmod/cma_test.c, whose format is documented in
//     kmod/FORMAT.md: "cma_test: v1 op=<op> key=value …" (this parser and that
//     file are the only shared contract between kmod/ and the library);
//   * the recorder that produced ../shared/traces (its own, older format:
//     "cma_test: alloc id=… pfn=0x… cma=1 …", "cma_test: bitmap: START+LEN …",
//     "cma_test: hog pfn=0x…"), kept readable because those traces are fixtures.
// Input is the message after kmsg::unwrap().
#pragma once

#include "detail/scan.hpp"
#include "parsed.hpp"

#include <string>
#include <string_view>

namespace cma::formats::cma_test {

namespace detail_ {
using namespace cma::formats::detail;

inline std::optional<std::uint64_t> dec(std::string_view f, std::string_view k) {
  auto v = field(f, k);
  return v ? to_u64(*v) : std::nullopt;
}
inline std::optional<std::uint64_t> hex(std::string_view f, std::string_view k) {
  auto v = field(f, k);
  return v ? to_u64(*v, 16) : std::nullopt;
}

inline parsed_line v1(std::string_view f) {
  auto op = field(f, "op");
  if (!op) return parsed_line::bad("cma_test v1: expected 'op=<op>'");
  const auto bad = [&](std::string_view what) {
    return parsed_line::bad("cma_test v1 op=" + std::string(*op) + ": expected " + std::string(what));
  };
  if (*op == "alloc") {
    ev::kmod_alloc e;
    auto id = dec(f, "id"), bytes = dec(f, "bytes"), pages = dec(f, "pages"), align = dec(f, "align");
    auto pfn = hex(f, "pfn");
    auto err = field(f, "err") ? to_int(*field(f, "err")) : std::nullopt;
    auto cma = field(f, "cma");
    if (!id || !bytes || !pages) return bad("id=, bytes=, pages= decimals");
    if (!align || *align > 63) return bad("align=<order 0..63>");
    if (!pfn) return bad("pfn=0x<hex>");
    if (!err) return bad("err=<0 or -errno>");
    if (!cma || (*cma != "0" && *cma != "1")) return bad("cma=<0|1>");
    e.id = *id, e.bytes = *bytes, e.pages = *pages, e.align = static_cast<unsigned>(*align), e.pfn = *pfn;
    e.cma = *cma == "1", e.err = *err;
    if (auto m = field(f, "mode")) e.mode = std::string(*m);
    return parsed_line::ok(std::move(e));
  }
  if (*op == "free") {
    auto id = dec(f, "id"), pages = dec(f, "pages");
    auto pfn = hex(f, "pfn");
    auto cma = field(f, "cma");
    if (!id || !pages || !pfn || !cma || (*cma != "0" && *cma != "1")) return bad("id=, pages=, pfn=0x<hex>, cma=<0|1>");
    return parsed_line::ok(ev::kmod_free{*id, *pages, *pfn, *cma == "1"});
  }
  if (*op == "hog") {
    auto pfn = hex(f, "pfn");
    if (!pfn) return bad("pfn=0x<hex>");
    return parsed_line::ok(ev::kmod_hog{*pfn});
  }
  if (*op == "unhog") {
    auto pages = dec(f, "pages");
    if (!pages) return bad("pages=<decimal>");
    return parsed_line::ok(ev::kmod_unhog{*pages});
  }
  for (std::string_view known : {"reject", "mode", "nowarn", "list", "live", "area", "loaded", "unloaded", "freeall"})
    if (*op == known) return parsed_line::ok(ev::kmod_other{std::string(*op), std::string(f)});
  return bad("a known op (alloc, free, hog, unhog, reject, mode, nowarn, list, live, area, loaded, unloaded, freeall)");
}

// The ../shared/traces recorder.
inline parsed_line legacy(std::string_view m) {
  std::string_view r = m;
  if (eat(r, "alloc ")) {
    ev::kmod_alloc e;
    auto pages = dec(r, "pages"), align = dec(r, "align"), req = dec(r, "req");
    if (!pages || !align || !req || *align > 63) return parsed_line::bad("cma_test alloc: expected req=, pages=, align=");
    e.pages = *pages, e.bytes = *req, e.align = static_cast<unsigned>(*align);
    if (auto id = dec(r, "id")) e.id = *id;
    if (r.find(" FAILED") != std::string_view::npos) {
      e.err = -12;
    } else {
      auto pfn = hex(r, "pfn");
      if (!pfn) return parsed_line::bad("cma_test alloc: expected pfn=0x<hex> or FAILED");
      e.pfn = *pfn;
    }
    e.cma = field(r, "cma") == std::optional<std::string_view>("1");
    if (auto mo = field(r, "mode")) e.mode = std::string(*mo);
    return parsed_line::ok(std::move(e));
  }
  if (eat(r, "free ")) {
    auto id = dec(r, "id"), pages = dec(r, "pages");
    auto pfn = hex(r, "pfn");
    if (!id || !pages || !pfn) return parsed_line::bad("cma_test free: expected id=, pages=, pfn=0x<hex>");
    return parsed_line::ok(ev::kmod_free{*id, *pages, *pfn, field(r, "cma") == std::optional<std::string_view>("1")});
  }
  if (eat(r, "hog pfn=")) {
    auto pfn = to_u64(r.substr(0, r.find(' ')), 16);
    if (!pfn) return parsed_line::bad("cma_test hog: expected pfn=0x<hex>");
    return parsed_line::ok(ev::kmod_hog{*pfn});
  }
  if (eat(r, "bitmap: ")) {
    if (starts_with(r, "used=") || starts_with(r, "unavailable"))
      return parsed_line::ok(ev::kmod_other{"bitmap", std::string(m)});
    ev::recorder_bitmap b;
    while (!(r = trim(r)).empty()) {
      auto s = eat_u64(r);
      if (!s || !eat(r, "+")) return parsed_line::bad("cma_test bitmap: expected '<start>+<len> …'");
      auto l = eat_u64(r);
      if (!l) return parsed_line::bad("cma_test bitmap: expected '<start>+<len> …'");
      b.used.push_back({*s, *l});
    }
    return parsed_line::ok(std::move(b));
  }
  for (std::string_view known : {"loading out-of-tree module", "module verification failed", "loaded:", "mode=",
                                 "nowarn=", "readfree=", "area:", "unhog:", "hog:", "unloaded", "freed ", "live:"})
    if (starts_with(m, known)) return parsed_line::ok(ev::kmod_other{"note", std::string(m)});
  return parsed_line::bad("cma_test: line not in kmod/FORMAT.md nor the recorder's format");
}

// The field notes' first module (../shared/reference): dev_info() lines "misc cma_test: …".
inline parsed_line field_notes(std::string_view m) {
  for (std::string_view known : {"registered.", "dma_set_coherent_mask ret: ", "System supports ", "no mem in CMA area",
                                 "allocate CM at ", "free CM at "})
    if (starts_with(m, known)) return parsed_line::ok(ev::kmod_other{"field-notes", std::string(m)});
  return parsed_line::bad("misc cma_test: line not in the field notes module's format");
}
} // namespace detail_

/// Parses a message that starts with "cma_test: " (or the field notes' "misc cma_test: "); foreign otherwise.
inline parsed_line parse_message(std::string_view m) {
  using namespace detail_;
  if (eat(m, "misc cma_test: ")) return field_notes(m);
  if (!eat(m, "cma_test: ")) return parsed_line::foreign();
  if (eat(m, "v1 ")) return v1(m);
  return legacy(m);
}

} // namespace cma::formats::cma_test
