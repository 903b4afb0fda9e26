// cma/formats/detail/kmsg_field.hpp — kmsg.hpp's readers for the lines around CMA that
// users paste from the field (../shared/LOGS-IN-THE-WILD.md), not printed by mm/cma.c:
//   drivers/of/of_reserved_mem.c ("OF: reserved mem: ", before 4.x "Reserved memory: "):
//     "%pa..%pa (%lu KiB) %s %s %s" (6.x), "initialized node %s, compatible id %s",
//     "node %s compatible matching fail", "failed to allocate memory for node '%s'[: size %lluMiB]"
//   kernel/dma/contiguous.c, kernel/dma/coherent.c ("Reserved memory: "):
//     "created CMA memory pool at %pa, size %ld MiB", "created DMA memory pool at %pa, size %ld MiB",
//     "bypass %s node, using cmdline CMA params instead", "incorrect alignment of CMA region"
//   driver lines naming the victim of a failure: drm_gem_cma_create's "failed to allocate
//     buffer with size %zu", vc4's "*ERROR* Failed to allocate from CMA:" and BO statistics
//     (4.x "[drm] num/size bos allocated/used/cached: %d[kb]", 5.x "[drm] %30s: %6dkb BOs (%d)"),
//     nvgpu's "DMA alloc FAILED: [%s] size=%zu", videobuf2-dma-contig's
//     "dma_alloc_coherent of size %ld failed" — anywhere in the message (the device prefix varies)
//   the page allocator: warn_alloc's "<comm>: page allocation failure: order:%u, …" and a
//     "WARNING: … at mm/page_alloc.c:<line> …"
// Each returns foreign for a message that is none of its lines, malformed (with why) for one
// that starts like it but misses a part — never a wrong event.
#pragma once

#include "../parsed.hpp"
#include "scan.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace cma::formats::kmsg::detail_ {
using namespace cma::formats::detail;

// drivers/of/of_reserved_mem.c, after its pr_fmt ("OF: reserved mem: ", "Reserved memory: "
// before 4.x).  Foreign when the message is none of the lines below.
inline parsed_line of_reserved_mem(std::string_view r) {
  using K = ev::rmem_note::kind;
  r = trim(r);
  if (starts_with(r, "0x")) { // 6.x "%pa..%pa (%lu KiB) %s %s %s"
    ev::rmem_reusable e;
    auto a = until(r, "..");
    auto b = until(r, " (");
    auto kib = eat_u64(r);
    std::optional<std::uint64_t> lo, hi;
    if (a) lo = to_u64(*a, 16);
    if (b) hi = to_u64(*b, 16);
    if (!lo || !hi || *hi < *lo || !kib || !eat(r, " KiB) "))
      return parsed_line::bad("reserved mem: expected '0x<start>..0x<end> (<N> KiB) <map|nomap> <reusable|non-reusable> <name>'");
    const bool map = eat(r, "map ") || eat(r, "nomap ");
    bool reusable = false;
    if (eat(r, "reusable ")) reusable = true;
    else if (!eat(r, "non-reusable ")) r = {};
    r = trim(r);
    if (!map || r.empty())
      return parsed_line::bad("reserved mem: expected '(<N> KiB) <map|nomap> <reusable|non-reusable> <name>'");
    if (!reusable) return parsed_line::skip(); // a no-map / non-reusable carve-out: not CMA
    e.base = *lo;
    e.last = *hi;
    e.kib = *kib;
    e.name = std::string(r);
    return parsed_line::ok(std::move(e));
  }
  if (eat(r, "initialized node ")) { // "initialized node %s, compatible id %s"
    auto k = r.rfind(", compatible id ");
    if (k == std::string_view::npos || k == 0 || trim(r.substr(k + 16)).empty())
      return parsed_line::bad("reserved mem: expected 'initialized node <name>, compatible id <id>'");
    return parsed_line::ok(ev::rmem_initialized{std::string(r.substr(0, k)), std::string(trim(r.substr(k + 16)))});
  }
  constexpr std::string_view matching = " compatible matching fail";
  if (eat(r, "node ") && r.size() > matching.size() && r.substr(r.size() - matching.size()) == matching)
    return parsed_line::ok(ev::rmem_note{K::matching_fail, std::string(r.substr(0, r.size() - matching.size()))});
  r = trim(r);
  if (eat(r, "failed to allocate memory for node '")) { // 6.x adds ": size %lluMiB"
    auto name = until(r, "'");
    if (!name || name->empty()) return parsed_line::bad("reserved mem: expected \"failed to allocate memory for node '<name>'\"");
    return parsed_line::ok(ev::rmem_note{K::node_alloc_failed, std::string(*name)});
  }
  return parsed_line::foreign();
}

// kernel/dma/contiguous.c and kernel/dma/coherent.c lines after "Reserved memory: ".
inline parsed_line reserved_memory(std::string_view r) {
  using K = ev::rmem_note::kind;
  if (eat(r, "created CMA memory pool at ")) {
    auto a = until(r, ", size ");
    auto base = a ? to_u64(*a, 16) : std::nullopt;
    auto mib = eat_u64(r);
    if (!base || !mib || !eat(r, " MiB")) return parsed_line::bad("Reserved memory: expected 'pool at 0x<addr>, size <N> MiB'");
    return parsed_line::ok(ev::rmem_pool{*base, *mib});
  }
  if (eat(r, "created DMA memory pool at ")) { // dma_init_reserved_memory: not reusable, not CMA
    auto a = until(r, ", size ");
    auto base = a ? to_u64(*a, 16) : std::nullopt;
    auto mib = eat_u64(r);
    if (!base || !mib || trim(r) != "MiB") return parsed_line::bad("Reserved memory: expected 'DMA memory pool at 0x<addr>, size <N> MiB'");
    return parsed_line::ok(ev::rmem_note{K::dma_pool, {}});
  }
  if (eat(r, "bypass ")) { // "bypass %s node, using cmdline CMA params instead"
    auto name = until(r, " node, using cmdline CMA params instead");
    if (!name || name->empty() || !trim(r).empty())
      return parsed_line::bad("Reserved memory: expected 'bypass <name> node, using cmdline CMA params instead'");
    return parsed_line::ok(ev::rmem_note{K::bypass_dt, std::string(*name)});
  }
  if (trim(r) == "incorrect alignment of CMA region") return parsed_line::ok(ev::rmem_note{K::incorrect_alignment, {}});
  return of_reserved_mem(r); // of_reserved_mem.c used this prefix before 4.x
}

// The driver lines that come with a CMA failure (LOGS-IN-THE-WILD "companion lines"),
// anywhere in the message (the device prefix before them varies).  Foreign otherwise.
inline parsed_line driver_line(std::string_view m) {
  constexpr std::string_view buffer = "failed to allocate buffer with size";
  if (auto i = m.find(buffer); i != std::string_view::npos) { // drm_gem_cma_create (vc4 and others)
    auto prefix = trim(m.substr(0, i));
    std::string driver = "vc4";
    if (!icontains(prefix, "vc4")) {
      driver = std::string(prefix.substr(0, prefix.find_first_of("- :[")));
      if (driver.empty()) driver = "drm";
    }
    auto rest = m.substr(i + buffer.size());
    std::optional<std::uint64_t> bytes;
    if (eat(rest, " ")) bytes = eat_u64(rest);
    if (!bytes || !trim(rest).empty()) return parsed_line::bad("driver: expected 'failed to allocate buffer with size <bytes>'");
    return parsed_line::ok(ev::driver_failure{std::move(driver), *bytes, false});
  }
  if (m.find("Failed to allocate from CMA:") != std::string_view::npos) { // vc4_bo_create's DRM_ERROR
    std::string driver = "vc4";
    if (!icontains(m, "vc4")) {
      driver = "drm";
      if (auto d = m.find("[drm:"); d != std::string_view::npos) {
        auto fn = m.substr(d + 5);
        fn = fn.substr(0, fn.find_first_of("_ ]"));
        if (!fn.empty()) driver = std::string(fn);
      }
    }
    return parsed_line::ok(ev::driver_failure{std::move(driver), std::nullopt, false});
  }
  if (auto i = m.find("[drm] "); i != std::string_view::npos) { // vc4 BO statistics
    auto r = trim(m.substr(i + 6));
    if (eat(r, "num bos ") || eat(r, "size bos ")) { // 4.x "num bos allocated: %d" / "size bos used: %dkb"
      if (!(eat(r, "allocated: ") || eat(r, "used: ") || eat(r, "cached: ")) || !eat_u64(r) || !(r.empty() || r == "kb"))
        return parsed_line::bad("vc4 BO stats: expected '<num|size> bos <allocated|used|cached>: <N>[kb]'");
      return parsed_line::ok(ev::driver_failure{"vc4", std::nullopt, true});
    }
    if (auto k = r.find("kb BOs ("); k != std::string_view::npos) { // 5.x "%30s: %6dkb BOs (%d)"
      auto head = r.substr(0, k);
      auto tail = r.substr(k + 8);
      auto colon = head.rfind(':');
      std::optional<std::uint64_t> kb, n;
      if (colon != std::string_view::npos && colon > 0) kb = to_u64(trim(head.substr(colon + 1)));
      n = eat_u64(tail);
      if (!kb || !n || tail != ")") return parsed_line::bad("vc4 BO stats: expected '<label>: <N>kb BOs (<n>)'");
      return parsed_line::ok(ev::driver_failure{"vc4", std::nullopt, true});
    }
    return parsed_line::foreign();
  }
  constexpr std::string_view nvgpu = "DMA alloc FAILED: [";
  if (auto i = m.find(nvgpu); i != std::string_view::npos) { // nvgpu_dma_alloc_flags_sys
    auto rest = m.substr(i + nvgpu.size());
    std::optional<std::uint64_t> bytes;
    if (until(rest, "] size=")) bytes = eat_u64(rest);
    if (!bytes || !(rest.empty() || rest.front() == ' ' || rest.front() == ','))
      return parsed_line::bad("nvgpu: expected 'DMA alloc FAILED: [<aperture>] size=<bytes>'");
    return parsed_line::ok(ev::driver_failure{"nvgpu", *bytes, false});
  }
  constexpr std::string_view coherent = "dma_alloc_coherent of size ";
  if (auto i = m.find(coherent); i != std::string_view::npos) { // videobuf2-dma-contig (sun6i-csi, …)
    auto rest = m.substr(i + coherent.size());
    auto bytes = eat_u64(rest);
    if (!bytes || trim(rest) != "failed") return parsed_line::bad("driver: expected 'dma_alloc_coherent of size <bytes> failed'");
    return parsed_line::ok(ev::driver_failure{"dma_alloc_coherent", *bytes, false});
  }
  return parsed_line::foreign();
}

// The page allocator's own failure report (warn_alloc) and its WARN from mm/page_alloc.c.
inline parsed_line page_alloc_line(std::string_view m) {
  constexpr std::string_view failure = "page allocation failure: order:";
  if (auto i = m.find(failure); i != std::string_view::npos && (i == 0 || m[i - 1] == ' ')) {
    auto rest = m.substr(i + failure.size());
    auto order = eat_u64(rest);
    if (!order || *order > 63 || !(rest.empty() || rest.front() == ',' || rest.front() == ' '))
      return parsed_line::bad("page allocation failure: expected 'order:<N>, mode:…'");
    return parsed_line::ok(ev::page_alloc_warning{static_cast<unsigned>(*order)});
  }
  if (starts_with(m, "WARNING:")) {
    constexpr std::string_view at = " at mm/page_alloc.c:";
    auto i = m.find(at);
    if (i == std::string_view::npos) return parsed_line::foreign();
    auto rest = m.substr(i + at.size());
    if (!eat_u64(rest)) return parsed_line::bad("WARNING: expected 'at mm/page_alloc.c:<line>'");
    return parsed_line::ok(ev::page_alloc_warning{});
  }
  return parsed_line::foreign();
}

} // namespace cma::formats::kmsg::detail_
