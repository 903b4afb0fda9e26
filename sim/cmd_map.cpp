// sim/cmd_map.cpp — `cmasim map INPUT… -o FILE.svg [--html REPORT.html]`: the area over time, as
// one SVG (issue 13), and/or one self-contained HTML report (cma/map/html.hpp: the SVG inline,
// the failed requests linked to their markers, cma::diagnose's findings, the plan).
//
// Reads its inputs as `cmasim replay` does (replay_inputs.hpp: files, trace folders, the
// folders `emulate` and `record` write), replays them twice with every record handed over
// (replay_inputs_each): pass 1 gives the area, the kernel and cma::map::scope (the time
// axis, the common alignment); pass 2 builds cma::map::timeline with an allocator of that
// area alongside.  A log with no operation but the kernel's failure lines (a field log)
// gives a map of those failures alone.  cma::map::render_svg draws it (include/cma/map/svg.hpp); --plan adds
// `cmasim plan --json`'s sweep as a third panel (and, in the HTML, a table).
// The timeline keeps only each span's geometry; the records' source line, count, align and
// pfn for the spans' tooltips are kept here alongside pass 2 (bounded: past 2 × max_spans
// allocations the spans are binned anyway and nothing more is kept).
// Exit: 0 written; 2 unreadable input, no area or no operation, a bad plan, bad usage, or
// an output that could not be written.
#include "commands.hpp"
#include "output.hpp"
#include "replay_inputs.hpp"

#include "diagnosis_print.hpp"

#include <cma/diagnose/diagnose.hpp>
#include <cma/map/html.hpp>
#include <cma/map/svg.hpp>
#include <cma/map/timeline.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace cmasim {
namespace {

struct map_args {
  std::vector<std::string> inputs;
  std::string output, html, plan, kernel, area;
  unsigned width = 1200, height = 0;
};

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "cmasim map: %s\n", msg.c_str());
  throw CLI::RuntimeError(exit_usage);
}

// `cmasim plan --json`: configurations[] {kernel, size, base_pfn, [order_per_bit,] failures,
// peak_used, …} (a configuration with "refused" instead of failures is not drawn),
// smallest[] and non_monotonic[] {kernel, size, [order_per_bit, base_pfn]} mark the points
// they name (an entry may also be a bare size).
std::vector<cma::map::plan_point> read_plan(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path + ": cannot open");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    fail(path + ": not JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object() || !j.contains("configurations") || !j["configurations"].is_array())
    fail(path + ": expected `cmasim plan --json` output (an object with configurations[])");
  const auto u64 = [&](const nlohmann::json& o, const char* k) -> std::uint64_t {
    if (!o.contains(k) || !o[k].is_number_unsigned()) {
      if (o.contains(k) && o[k].is_number_integer() && o[k].get<long long>() >= 0) return o[k].get<std::uint64_t>();
      if (o.contains(k) && o[k].is_null()) return 0;
      fail(path + ": configuration without a non-negative '" + k + "'");
    }
    return o[k].get<std::uint64_t>();
  };
  std::vector<cma::map::plan_point> out;
  for (const auto& c : j["configurations"]) {
    if (!c.is_object()) fail(path + ": configurations[] holds a non-object");
    if (c.contains("refused")) continue; // no kernel could have that area: nothing to draw
    cma::map::plan_point p;
    p.kernel = c.contains("kernel") && c["kernel"].is_string() ? c["kernel"].get<std::string>() : "?";
    p.size = u64(c, "size");
    p.order_per_bit = c.contains("order_per_bit") ? static_cast<unsigned>(std::min<std::uint64_t>(u64(c, "order_per_bit"), 64)) : 0;
    p.base_pfn = c.contains("base_pfn") ? u64(c, "base_pfn") : 0;
    p.failures = u64(c, "failures");
    p.peak_used = c.contains("peak_used") ? u64(c, "peak_used") : 0;
    out.push_back(p);
  }
  const auto mark = [&](const char* list, bool cma::map::plan_point::*flag) {
    if (!j.contains(list) || !j[list].is_array()) return;
    for (const auto& e : j[list]) {
      std::optional<std::uint64_t> size, opb, base;
      std::string kernel;
      if (e.is_object() && e.contains("order_per_bit") && e["order_per_bit"].is_number_unsigned()) opb = e["order_per_bit"].get<std::uint64_t>();
      if (e.is_object() && e.contains("base_pfn") && e["base_pfn"].is_number_unsigned()) base = e["base_pfn"].get<std::uint64_t>();
      if (e.is_number_unsigned()) size = e.get<std::uint64_t>();
      else if (e.is_object() && e.contains("size") && e["size"].is_number_unsigned()) size = e["size"].get<std::uint64_t>();
      if (e.is_object() && e.contains("kernel") && e["kernel"].is_string()) kernel = e["kernel"].get<std::string>();
      if (!size) continue;
      for (auto& p : out)
        if (p.size == *size && (kernel.empty() || kernel == p.kernel) && (!opb || *opb == p.order_per_bit) &&
            (!base || *base == p.base_pfn))
          p.*flag = true;
    }
  };
  mark("smallest", &cma::map::plan_point::smallest);
  mark("non_monotonic", &cma::map::plan_point::non_monotonic);
  if (out.empty()) fail(path + ": no configuration with failures to draw");
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(path + ": cannot write");
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.flush();
  if (!out) fail(path + ": cannot write");
}

// What a span's tooltip says beyond its geometry: the allocation's record.
struct span_source {
  cma::ev::source where;
  cma::page_count count = 0;
  unsigned align = 0;
  cma::pfn_t pfn = 0;
};

void run(const map_args& a) {
  if (a.output.empty() && a.html.empty()) fail("nothing to write: give -o FILE.svg, --html REPORT.html, or both");
  if (a.output == "-" && a.html == "-") fail("-o and --html cannot both be '-' (stdout)");
  if (a.width < 400 || a.width > 20000) fail("--width: expected 400 to 20000 px");
  if (a.height != 0 && (a.height < 300 || a.height > 20000)) fail("--height: expected 300 to 20000 px");
  for (const auto& in : a.inputs)
    if (in == "-") fail("'-': map reads its inputs twice (the area first, then the picture); give a file");
  const auto plan = a.plan.empty() ? std::vector<cma::map::plan_point>{} : read_plan(a.plan);

  cma::map::scope sc;
  const auto first = replay_inputs_each(a.inputs, a.kernel, "map", [&](const cma::op_record& o) { sc.on_op(o); });
  const auto& r = first.report;
  if (!r.area_known || r.count == 0)
    fail("no CMA area in the input (a boot log's 'cma: Reserved' line, or a trace folder with dmesg.txt)");
  // The area drawn: the default one, or --area NAME (a hugetlb, device-tree or per-node area).
  cma::area_report shown{r.area_name, r.area_source, r.base_pfn, r.count, r.order_per_bit, 0, 0, 0, {}};
  if (!a.area.empty() && a.area != r.area_name) {
    const auto it = std::find_if(r.areas.begin(), r.areas.end(), [&](const cma::area_report& x) { return x.name == a.area; });
    if (it == r.areas.end()) {
      std::string names;
      for (const auto& x : r.areas) names += (names.empty() ? "" : ", ") + x.name;
      fail("--area " + a.area + ": no such area in the input (its areas: " + names + ")");
    }
    shown = *it;
  }
  const bool is_default = shown.name == r.area_name;
  // A field log (no operations, only the kernel's failure lines): the failures alone.
  std::vector<const cma::field_failure*> lines;
  if (sc.ops == 0)
    for (const auto& f : r.field.failures)
      if ((f.area.empty() && is_default) || f.area == shown.name) lines.push_back(&f), sc.on_failure_line(f.where.time);
  if (sc.ops == 0 && lines.empty()) fail("no CMA operation or failed allocation in the input: nothing to draw");
  const auto version = cma::kernel_version::parse(r.kernel);
  if (!version) fail("unknown kernel series '" + r.kernel + "'");
  sc.area = shown.name; // records of other areas are not drawn
  std::optional<cma::map::timeline_builder> b;
  try {
    b.emplace(cma::allocator(shown.name, cma::memrange_spec{shown.base_pfn, shown.count}, shown.order_per_bit,
                             cma::profile::for_version(*version)),
              sc);
  } catch (const std::invalid_argument& e) {
    fail(std::string("the area cannot be modelled: ") + e.what());
  }
  // Alongside pass 2: each allocation's record by (page offset, the builder's time of it),
  // the key its span carries; and each failed request's reason, in the builder's order.
  const bool seconds = sc.timed && sc.seen_time;
  const cma::map::limits lim{};
  std::multimap<std::pair<std::uint64_t, double>, span_source> sources;
  std::vector<std::string> reasons;
  std::uint64_t n = 0;
  if (sc.ops > 0)
    replay_inputs_each(a.inputs, a.kernel, "map", [&](const cma::op_record& o) {
      if (sc.counts(o)) {
        const double t = !seconds ? double(n) : o.where.time ? *o.where.time : o.start_time ? *o.start_time : sc.t_first;
        ++n;
        if (o.kind == cma::op_kind::alloc && cma::map::failed_allocation(o)) {
          if (reasons.size() < lim.max_failures) reasons.push_back(o.failure_reason);
        } else if (o.kind == cma::op_kind::alloc && o.observed_ok && o.observed_pfn && sources.size() < 2 * lim.max_spans) {
          if (const auto off = b->offset_of(*o.observed_pfn)) sources.insert({{*off, t}, {o.where, o.count, o.align, *o.observed_pfn}});
        }
      }
      b->on_op(o);
    });
  for (const auto* f : lines) b->on_failure_line({f->where.time.value_or(0), f->count, f->logged_align.value_or(0), f->err, f->where});
  auto tl = std::move(*b).finish();

  cma::map::svg_options opt;
  opt.width = a.width;
  opt.height = a.height ? a.height : (plan.empty() ? 820 : 1060);
  std::string inputs;
  for (const auto& n : a.inputs) inputs += (inputs.empty() ? "" : ", ") + n;
  opt.title = "cmasim map: area " + shown.name + " (" + std::to_string(shown.count) + " pages, kernel " + r.kernel + ") — " +
              std::to_string(tl.ops) + " operations, " + std::to_string(tl.failures_total) + " failed — " + inputs;
  const auto name_of = [&](unsigned f) { return f < first.names.size() ? first.names[f] : "input " + std::to_string(f); };
  const auto when = [&](double t) { return cma::map::detail::trim_num(t) + (tl.seconds ? " s" : ""); };
  opt.span_title = [&](std::size_t i) -> std::string {
    const auto& s = tl.spans[i];
    const std::string life = "lifetime " + (s.open_start ? std::string("before the trace") : when(s.t_alloc)) + " -> " +
                             (s.open_end ? std::string("still allocated at the end") : when(s.t_release));
    const auto it = sources.find({s.offset, s.t_alloc});
    if (s.open_start || it == sources.end()) return life;
    const auto& src = it->second;
    char pfn[32];
    std::snprintf(pfn, sizeof pfn, "%#llx", static_cast<unsigned long long>(src.pfn));
    return name_of(src.where.file) + ":" + std::to_string(src.where.line) + "\ncount " + std::to_string(src.count) + " align " +
           std::to_string(src.align) + " pfn " + pfn + "\n" + life;
  };
  const auto svg = cma::map::render_svg(tl, opt, plan);
  const auto summary = [&](const std::string& path, std::size_t bytes) {
    std::fprintf(stderr, "cmasim map: %s: %llu operations, %llu spans%s, %llu failed, %llu busy windows, %zu bytes\n", path.c_str(),
                 static_cast<unsigned long long>(tl.ops), static_cast<unsigned long long>(tl.spans_total), tl.binned ? " (binned)" : "",
                 static_cast<unsigned long long>(tl.failures_total), static_cast<unsigned long long>(tl.busy_total), bytes);
  };
  std::string html;
  if (!a.html.empty()) {
    const auto d = cma::diagnose::diagnose(r);
    cma::map::html_input hi;
    hi.title = opt.title;
    hi.svg = svg;
    hi.tl = &tl;
    hi.failure_reasons = reasons;
    hi.diagnosis = &d;
    hi.plan = plan;
    hi.files = first.names;
    html = cma::map::render_html(hi);
  }
  for (const auto& [path, text] : {std::pair<const std::string&, const std::string&>{a.output, svg}, {a.html, html}}) {
    if (path.empty()) continue;
    if (path == "-") {
      std::fwrite(text.data(), 1, text.size(), stdout);
      finish_output("map");
      continue;
    }
    write_file(path, text);
    summary(path, text.size());
  }
}

} // namespace

void add_map_command(CLI::App& app) {
  auto a = std::make_shared<map_args>();
  CLI::App* cmd = app.add_subcommand("map", "Draw the area over time (occupancy, failures, fragmentation) as an SVG and/or an HTML report");
  cmd->add_option("inputs", a->inputs, "kernel logs, trace files, trace folders, emulate/record folders ('-' for stdin)")->required();
  cmd->add_option("-o,--output", a->output, "the SVG file to write ('-' for stdout)");
  cmd->add_option("--html", a->html, "a self-contained HTML report to write: the map, failed requests, diagnosis, plan ('-' for stdout)");
  cmd->add_option("--plan", a->plan, "`cmasim plan --json` output: adds failures against area size");
  cmd->add_option("--kernel", a->kernel, "kernel version when the log has no banner (e.g. 6.1)");
  cmd->add_option("--area", a->area, "the area to draw by name (hugetlb0, pernuma1, numa1, a DT pool; default: the default area)");
  cmd->add_option("--width", a->width, "document width in px (default 1200)");
  cmd->add_option("--height", a->height, "document height in px (default 820, 1060 with --plan)");
  cmd->callback([a] { run(*a); });
}

} // namespace cmasim
