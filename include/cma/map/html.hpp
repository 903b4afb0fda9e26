// cma/map/html.hpp — `cmasim map --html`: one self-contained HTML report.
//
// The SVG of svg.hpp inline (no <img>, no network, no external script, style or font), then
//   - the failures table (table#failures, one tr.failure-row per kept failure): time,
//     pages, align, errno, cause, file:line; each row links to #failure-N, the marker of
//     the same failure in the picture (svg.hpp gives them those ids); clicking a row
//     scrolls to the marker and highlights it;
//   - the diagnose table (table#diagnose, one tr.finding-row per cma::diagnose finding):
//     cause, area, pages, errno, occurrences, explanation;
//   - the plan table (table#plan, one tr.plan-row per configuration), with --plan only.
// Every table sorts by a click on a column header (a few lines of inline JS; numbers
// compare as numbers).  Every text taken from the input goes through detail::esc
// (svg.hpp: & < > " escaped, control characters blanked) — the one escaping function of
// the map; the SVG text is inserted as render_svg produced it (already escaped).
// Pure: the document is returned as a string.
#pragma once

#include "svg.hpp"
#include "timeline.hpp"

#include "../diagnose/diagnose.hpp"
#include "../errno.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace cma::map {

struct html_input {
  std::string title;                         ///< the page's heading (escaped)
  std::string svg;                           ///< render_svg's document (its <?xml?> line dropped)
  const timeline* tl = nullptr;              ///< the failures (required)
  std::vector<std::string> failure_reasons;  ///< parallel to tl->failures, may be shorter: the replay's words
  const diagnose::diagnosis* diagnosis = nullptr; ///< may be null: no diagnose table
  std::vector<plan_point> plan;              ///< empty: no plan table
  std::vector<std::string> files;            ///< input names by source index (file:line)
};

namespace detail {

inline std::string file_line(const std::vector<std::string>& files, unsigned file, std::uint64_t line) {
  const std::string name = file < files.size() ? files[file] : "input " + std::to_string(file);
  return line ? name + ":" + std::to_string(line) : name;
}

/// The diagnose finding for a failed request: the one citing its line, else a failure
/// finding of the same size (and errno when both are known); nullptr when none.
inline const diagnose::finding* finding_of(const diagnose::diagnosis* d, const failure& f) {
  if (!d) return nullptr;
  for (const auto& x : d->findings)
    for (const auto& e : x.ev)
      if (e.file == f.where.file && e.line == f.where.line) return &x;
  for (const auto& x : d->findings)
    if (diagnose::is_failure(x.c) && x.count && *x.count == f.count && (!x.err || !f.err || *x.err == f.err)) return &x;
  return nullptr;
}

inline std::string td(const std::string& text, const std::string& sort_key = {}) {
  return "<td" + (sort_key.empty() ? std::string() : " data-sort=\"" + esc(sort_key) + "\"") + ">" + esc(text) + "</td>";
}

} // namespace detail

inline std::string render_html(const html_input& in) {
  using namespace detail;
  std::string svg = in.svg;
  if (svg.rfind("<?xml", 0) == 0) svg.erase(0, svg.find('\n') + 1);
  const timeline& tl = *in.tl;
  std::string o;
  o.reserve(svg.size() + (1 << 16));
  o += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + esc(in.title) + "</title>\n<style>\n"
       "body{font-family:sans-serif;margin:16px;color:#222;background:#fff}\n"
       "h1{font-size:18px}h2{font-size:15px;margin-top:24px}\n"
       "table{border-collapse:collapse;font-size:12px;margin:6px 0}\n"
       "th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}\n"
       "th{background:#eee;cursor:pointer;user-select:none}th.asc::after{content:' \\25B2'}th.desc::after{content:' \\25BC'}\n"
       "tr.failure-row{cursor:pointer}tr.failure-row:hover,tr.sel{background:#fde0dd}\n"
       "g.failure.hl line,g.failure:target line{stroke:#000;stroke-width:5;stroke-opacity:1}\n"
       "g.failure.hl path,g.failure:target path{fill:#000}\n"
       "rect.span:hover{stroke:#000;stroke-width:1.5}\n"
       ".map{overflow-x:auto}\n"
       "</style>\n</head>\n<body>\n<h1>" +
       esc(in.title) + "</h1>\n";
  o += "<p class=\"summary\">" + std::to_string(tl.ops) + " operations, " + std::to_string(tl.spans_total) + " spans" +
       (tl.binned ? " (binned: too many to show one by one)" : " (hover one: source line, pages, align, pfn, lifetime)") + ", " +
       "<span id=\"failure-count\">" + std::to_string(tl.failures_total) + "</span> failed requests, " + std::to_string(tl.busy_total) +
       " busy windows.</p>\n";
  o += "<div class=\"map\">\n" + svg + "</div>\n";

  // ------------------------------------------------------------------ failures
  o += "<h2>Failed requests</h2>\n";
  if (tl.failures_binned)
    o += "<p class=\"note\">" + std::to_string(tl.failures_total) +
         " failed requests: more than the map marks one by one; the picture shows them per column.</p>\n";
  else if (tl.failures.empty())
    o += "<p class=\"note\">No allocation failed.</p>\n";
  o += "<table id=\"failures\" class=\"sortable\"><thead><tr><th>#</th><th>time" + std::string(tl.seconds ? " (s)" : " (op)") +
       "</th><th>pages</th><th>align</th><th>errno</th><th>cause</th><th>file:line</th></tr></thead><tbody>\n";
  for (std::size_t i = 0; i < tl.failures.size(); ++i) {
    const auto& f = tl.failures[i];
    const auto* fd = finding_of(in.diagnosis, f);
    std::string cause = fd ? std::string(diagnose::name(fd->c)) : std::string();
    if (i < in.failure_reasons.size() && !in.failure_reasons[i].empty())
      cause += (cause.empty() ? "" : ": ") + in.failure_reasons[i];
    const std::string id = "failure-" + std::to_string(i);
    o += "<tr class=\"failure-row\" data-target=\"" + id + "\"><td data-sort=\"" + std::to_string(i) + "\"><a href=\"#" + id + "\">" +
         std::to_string(i + 1) + "</a></td>" + td(trim_num(f.t), trim_num(f.t)) + td(std::to_string(f.count), std::to_string(f.count)) +
         td(std::to_string(f.align), std::to_string(f.align)) +
         td(f.err ? std::to_string(f.err) + " (" + std::string(errno_name(f.err)) + ")" : "-", std::to_string(f.err)) + td(cause.empty() ? "-" : cause) +
         "<td><a href=\"#" + id + "\">" + esc(file_line(in.files, f.where.file, f.where.line)) + "</a></td></tr>\n";
  }
  o += "</tbody></table>\n";

  // ------------------------------------------------------------------ diagnose
  if (in.diagnosis) {
    const auto& d = *in.diagnosis;
    o += "<h2>Diagnosis (cmasim diagnose)</h2>\n";
    if (d.findings.empty()) o += "<p class=\"note\">No finding.</p>\n";
    o += "<table id=\"diagnose\" class=\"sortable\"><thead><tr><th>cause</th><th>area</th><th>pages</th><th>errno</th>"
         "<th>occurrences</th><th>explanation</th></tr></thead><tbody>\n";
    for (const auto& f : d.findings) {
      const std::string cause = std::string(diagnose::name(f.c)) + (f.why ? " (" + std::string(diagnose::name(*f.why)) + ")" : "");
      o += "<tr class=\"finding-row\">" + td(cause) + td(f.area) + td(f.count ? std::to_string(*f.count) : "-", f.count ? std::to_string(*f.count) : "") +
           td(f.err ? std::to_string(*f.err) + " (" + std::string(errno_name(*f.err)) + ")" : "-", f.err ? std::to_string(*f.err) : "") +
           td(std::to_string(f.occurrences), std::to_string(f.occurrences)) + td(f.explanation) + "</tr>\n";
    }
    o += "</tbody></table>\n";
    for (const auto& n : d.notes) o += "<p class=\"note\">note: " + esc(n) + "</p>\n";
  }

  // ------------------------------------------------------------------ plan
  if (!in.plan.empty()) {
    o += "<h2>Plan (cmasim plan --json)</h2>\n<table id=\"plan\" class=\"sortable\"><thead><tr><th>kernel</th><th>size (MiB)</th>"
         "<th>base_pfn</th><th>order_per_bit</th><th>failures</th><th>peak used (pages)</th><th>mark</th></tr></thead><tbody>\n";
    for (const auto& p : in.plan) {
      char base[32];
      std::snprintf(base, sizeof base, "%#llx", static_cast<unsigned long long>(p.base_pfn));
      const double mib = double(p.size) / 1048576.0;
      std::string mark = p.smallest ? "smallest without failure" : "";
      if (p.non_monotonic) mark += std::string(mark.empty() ? "" : "; ") + "non-monotonic";
      o += "<tr class=\"plan-row\">" + td(p.kernel) + td(trim_num(mib), trim_num(mib)) + td(base, std::to_string(p.base_pfn)) +
           td(std::to_string(p.order_per_bit), std::to_string(p.order_per_bit)) + td(std::to_string(p.failures), std::to_string(p.failures)) +
           td(std::to_string(p.peak_used), std::to_string(p.peak_used)) + td(mark) + "</tr>\n";
    }
    o += "</tbody></table>\n";
  }

  // Sorting (numbers by data-sort when both are numbers, else text) and failure-row clicks.
  o += "<script>\n"
       "(function(){\n"
       "function key(td){var s=td.getAttribute('data-sort');return s===null?td.textContent:s;}\n"
       "document.querySelectorAll('table.sortable').forEach(function(t){\n"
       " t.querySelectorAll('th').forEach(function(th,col){th.addEventListener('click',function(){\n"
       "  var asc=!th.classList.contains('asc');t.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc');});\n"
       "  th.classList.add(asc?'asc':'desc');var tb=t.tBodies[0];var rows=Array.prototype.slice.call(tb.rows);\n"
       "  rows.sort(function(a,b){var x=key(a.cells[col]),y=key(b.cells[col]),nx=parseFloat(x),ny=parseFloat(y);\n"
       "   var c=(!isNaN(nx)&&!isNaN(ny)&&String(nx)!=='NaN')?nx-ny:x.localeCompare(y);return asc?c:-c;});\n"
       "  rows.forEach(function(r){tb.appendChild(r);});});});});\n"
       "function show(id,row){var m=document.getElementById(id);if(!m)return;\n"
       " document.querySelectorAll('.hl').forEach(function(e){e.classList.remove('hl');});\n"
       " document.querySelectorAll('tr.sel').forEach(function(e){e.classList.remove('sel');});\n"
       " m.classList.add('hl');if(row)row.classList.add('sel');m.scrollIntoView({block:'center',inline:'center'});\n"
       " if(history.replaceState)history.replaceState(null,'','#'+id);}\n"
       "document.querySelectorAll('tr.failure-row').forEach(function(r){r.addEventListener('click',function(e){\n"
       " e.preventDefault();show(r.getAttribute('data-target'),r);});});\n"
       "document.body.setAttribute('data-ready',document.querySelectorAll('tr.failure-row').length);\n"
       "})();\n"
       "</script>\n</body>\n</html>\n";
  return o;
}

} // namespace cma::map
