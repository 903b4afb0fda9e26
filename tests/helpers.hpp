// tests/helpers.hpp — shared by the tests: fixture loading and area builders.
#pragma once

#include <cma/allocator.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace cmatest {

inline std::string data_path(const std::string& rel) { return std::string(CMASIM_TEST_DATA) + "/" + rel; }

inline std::string read_fixture(const std::string& rel) {
  std::ifstream in(data_path(rel), std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + data_path(rel));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline cma::profile prof(const char* v) { return cma::profile::for_version(*cma::kernel_version::parse(v)); }

template <class Area = cma::allocator>
Area area(cma::pfn_t base_pfn, cma::page_count count, unsigned order_per_bit = 0, const char* version = "6.1") {
  return Area("test", cma::memrange_spec{base_pfn, count}, order_per_bit, prof(version));
}

/// Versions every scenario runs under.
inline const char* const all_versions[] = {"4.15", "5.10", "6.1", "6.6", "6.12", "6.15", "6.18"};

} // namespace cmatest
