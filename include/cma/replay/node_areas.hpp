// cma/replay/node_areas.hpp — which `cma: Reserved N MiB at …` line declared the default
// area and which a node's area (pernuma<N>, numa<N>), from the lines' order.
//
// kernel/dma/contiguous.c declares the per-node areas with the same line as the default area
// (cma_declare_contiguous_nid); on 6.15+ and before 6.4 the line does not say the node:
//  - 5.10 – 6.5: `cma_pernuma=` → pernuma<N>; 6.6 – 6.x also `numa_cma=` → numa<N> (the
//    node's pernuma first); 7.x one numa<N> per node (its numa_cma= size, else cma_pernuma=,
//    else with CONFIG_CMA_SIZE_PERNUMA the default area's size when several nodes are online);
//  - up to 6.x they are declared before the default area (arm64 6.1 dma_pernuma_cma_reserve in
//    bootmem_init; 6.6+ first thing in dma_contiguous_reserve), from 7.x after it (7.3.4 boots
//    of 2 nodes: reserved, numa0, numa1 — tests/data/recorded/numa-7.3-*);
//  - 6.4 – 6.14 print "on node N", the default area's N being -1.
// So the line "on node -1", else the last plain line up to 6.x and the first from 7.x, is the
// default area, unless `cma=0` left none (then every line is a node's); the others are the
// nodes' areas in node order, nodes 0, 1, … taken as online (a node whose reservation failed
// shifts the numbering; the kernel's own "reservation failed" line says so).  A hugetlb
// area's line (followed by "hugetlb_cma: reserved") is not a plain line: callers leave it out.
// Pure; used by boot_facts.hpp (the replay's areas) and field_log.hpp (diagnose's).
#pragma once

#include "../boot/early_cma.hpp"
#include "../kernel_version.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace cma::replay_detail {

/// The Reserved lines kept (boot_facts::max_declared, field_log): more than any kernel's
/// MAX_CMA_AREAS.
inline constexpr std::size_t boot_facts_max_declared = 64;

struct reserved_line_names {
  std::optional<std::size_t> default_index; ///< the default area's line, if any
  std::vector<std::string> names;           ///< per line: "" for the default one, else pernuma<N> / numa<N>
};

/// The names of `n` node lines that do not print their node, in declaration order, as the
/// command line asks for them node by node.
inline std::vector<std::string> nodeless_area_names(std::size_t n, const kernel_version& kv, const early_cma_params& p) {
  const auto listed = [&](int nid) {
    const auto it = p.numa_cma.find(static_cast<unsigned>(nid));
    return it != p.numa_cma.end() && it->second;
  };
  std::vector<std::string> out;
  for (int nid = 0; out.size() < n; ++nid) {
    const std::string id = std::to_string(nid);
    if (nid >= 1024) out.push_back("numa" + id); // more lines than the command line asks for
    else if (kv < kernel_version{6, 6}) out.push_back("pernuma" + id);
    else if (kv < kernel_version{7, 0}) {
      if (p.pernuma_size) out.push_back("pernuma" + id);
      if (listed(nid) && out.size() < n) out.push_back("numa" + id);
    } else if (listed(nid) || p.pernuma_size || !(p.pernuma_given || p.numa_cma_given)) {
      out.push_back("numa" + id);
    }
  }
  return out;
}

/// `nodes`: each plain line's "on node N" (nullopt when it prints none), in log order.
inline reserved_line_names name_reserved_lines(const std::vector<std::optional<int>>& nodes, const kernel_version& kv,
                                               const early_cma_params& p) {
  reserved_line_names r;
  r.names.assign(nodes.size(), "");
  if (nodes.empty()) return r;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i] == -1) r.default_index = i;
  const bool no_global = p.cma.given && p.cma.size == 0;
  if (!r.default_index && !no_global)
    r.default_index = kv >= kernel_version{7, 0} ? 0 : nodes.size() - 1;
  std::size_t nodeless = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (r.default_index != i && !(nodes[i] && *nodes[i] >= 0)) ++nodeless;
  const auto guessed = nodeless_area_names(nodeless, kv, p);
  std::size_t next = 0;
  std::vector<int> seen;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (r.default_index == i) continue;
    if (nodes[i] && *nodes[i] >= 0) { // 6.4 – 6.14: the line names the node
      const int nid = *nodes[i];
      const bool second = std::find(seen.begin(), seen.end(), nid) != seen.end();
      seen.push_back(nid);
      const bool pernuma = kv < kernel_version{6, 6} || (p.pernuma_given && !second);
      r.names[i] = (pernuma ? "pernuma" : "numa") + std::to_string(nid);
    } else {
      r.names[i] = guessed[next++];
    }
  }
  return r;
}

} // namespace cma::replay_detail
