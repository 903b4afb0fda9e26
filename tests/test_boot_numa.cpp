// tests/test_boot_numa.cpp — the per-node DMA areas in the boot model (issue 14):
// boot/dma_contiguous_reserve.hpp's order, names and sizes per version, and boot/machine.hpp's
// qemu-virt of several nodes.  Expected bases are the real 2-node boots of
// tests/data/recorded/numa-* (QEMU -m 2G, two 1 GiB nodes); the rules the recordings do not
// exercise (cma=0, a refused default area) follow kernel/dma/contiguous.c 7.3.4 and are
// checked by what they must not declare.
#include <cma/boot/boot.hpp>
#include <cma/replay/node_areas.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

cma::boot_report numa_boot(const cma::kernel_version& kv, const std::string& cmdline, unsigned nodes = 2) {
  cma::boot_config c;
  c.kernel = kv;
  c.ram_size = 2ULL << 30;
  c.cmdline = cmdline;
  c.numa_nodes = nodes;
  return cma::simulate_boot(c);
}

struct placed {
  std::string name;
  cma::phys_addr_t base;
  std::uint64_t mib;
  bool operator==(const placed&) const = default;
};

std::vector<placed> placed_areas(const cma::boot_report& r) {
  std::vector<placed> out;
  for (const auto& a : r.areas)
    if (a.decl.ok()) out.push_back({a.decl.name, a.decl.base, a.decl.size >> 20});
  return out;
}

} // namespace

TEST_CASE("boot numa: 6.1 arm64 reserves pernuma<N> on every node before the default area", "[boot][numa]") {
  // numa-6.1-cma32M-pernuma16M: Reserved 16 MiB at 0x7ee00000, 16 MiB at 0xbea00000, 32 MiB at 0xbba00000.
  const auto r = numa_boot({6, 1, 0}, "cma=32M cma_pernuma=16M");
  REQUIRE_FALSE(r.error);
  CHECK(placed_areas(r) == std::vector<placed>{{"pernuma0", 0x7ee00000, 16}, {"pernuma1", 0xbea00000, 16},
                                               {"reserved", 0xbba00000, 32}});
  CHECK(r.memory_cma_reserved_k == 65536);
}

TEST_CASE("boot numa: Debian's 6.12 has no CONFIG_DMA_NUMA_CMA, so the options do nothing", "[boot][numa]") {
  // numa-6.12-cma32M-ignored: one area, and `Unknown kernel command line parameters`.
  const auto r = numa_boot({6, 12, 0}, "cma=32M cma_pernuma=16M numa_cma=1:8M");
  CHECK(placed_areas(r) == std::vector<placed>{{"reserved", 0xbca00000, 32}});
  bool said = false;
  for (const auto& n : r.notes) said = said || n.find("CONFIG_DMA_NUMA_CMA") != std::string::npos;
  CHECK(said);
}

TEST_CASE("boot numa: 7.3 reserves the default area first, then numa<N>", "[boot][numa]") {
  SECTION("cma= alone on 2 nodes: one area per node of the default area's size (CMA_SIZE_PERNUMA)") {
    // numa-7.3-cma32M-auto: 32 MiB at 0xbda00000, 0x7de00000, 0xbba00000; 98304K cma-reserved.
    const auto r = numa_boot({7, 3, 0}, "cma=32M");
    CHECK(placed_areas(r) == std::vector<placed>{{"reserved", 0xbda00000, 32}, {"numa0", 0x7de00000, 32},
                                                 {"numa1", 0xbba00000, 32}});
    CHECK(r.memory_cma_reserved_k == 98304);
  }
  SECTION("numa_cma= names the nodes: the others get none") {
    // numa-7.3-cma32M-numa_cma1-16M: 32 MiB at 0xbda00000, 16 MiB at 0xbca00000.
    const auto r = numa_boot({7, 3, 0}, "cma=32M numa_cma=1:16M");
    CHECK(placed_areas(r) == std::vector<placed>{{"reserved", 0xbda00000, 32}, {"numa1", 0xbca00000, 16}});
  }
  SECTION("one node: CMA_SIZE_PERNUMA adds nothing (nr_online_nodes > 1 only)") {
    CHECK(placed_areas(numa_boot({7, 3, 0}, "cma=32M", 1)).size() == 1);
  }
  SECTION("cma=0: no default area, so no size to copy and no numa area") {
    CHECK(placed_areas(numa_boot({7, 3, 0}, "cma=0")).empty());
  }
  SECTION("cma=0 with numa_cma=: no default area was tried, so nothing returned early: the node's area is there") {
    const auto r = numa_boot({7, 3, 0}, "cma=0 numa_cma=0:16M");
    REQUIRE(placed_areas(r).size() == 1);
    CHECK(placed_areas(r)[0].name == "numa0");
    CHECK(placed_areas(r)[0].mib == 16);
  }
  SECTION("a default area that cannot be placed: dma_contiguous_reserve returns before the nodes' areas") {
    // cma=4G on 2 GiB of RAM: no room under the 4 GiB limit; numa_cma=0:16M would fit.
    const auto r = numa_boot({7, 3, 0}, "cma=4G numa_cma=0:16M");
    CHECK(placed_areas(r).empty());
  }
  SECTION("6.x order for comparison: numa_cma= before the default area (6.6 – 6.19, upstream Kconfig)") {
    cma::boot_config c;
    c.kernel = {6, 12, 0};
    c.ram_size = 2ULL << 30;
    c.cmdline = "cma=32M numa_cma=1:16M";
    c.numa_nodes = 2;
    c.kconfig = cma::upstream_kconfig(cma::arch::arm64, c.kernel);
    c.kconfig->size_mbytes = 64;
    const auto r = cma::simulate_boot(c);
    REQUIRE(placed_areas(r).size() == 2);
    CHECK(placed_areas(r)[0].name == "numa1");
    CHECK(placed_areas(r)[1].name == "reserved");
  }
}

TEST_CASE("boot numa: qemu-virt splits RAM over the nodes as `cmasim record --numa` asks QEMU", "[boot][numa]") {
  CHECK(cma::numa_node_sizes(2ULL << 30, 2) == std::vector<cma::phys_addr_t>{1ULL << 30, 1ULL << 30});
  CHECK(cma::numa_node_sizes(1025ULL << 20, 2) == std::vector<cma::phys_addr_t>{513ULL << 20, 512ULL << 20});
  CHECK(numa_boot({6, 1, 0}, "cma=32M", 9).error);
  CHECK(numa_boot({6, 1, 0}, "cma=32M", 0).error);
}

TEST_CASE("node_areas: which Reserved line is the default area, which a node's", "[replay][numa]") {
  using cma::replay_detail::name_reserved_lines;
  const auto params = [](const char* cmdline, const cma::kernel_version& kv) { return cma::parse_early_cma_params(cmdline, kv); };
  SECTION("6.1: the node areas come first, the default area last") {
    const auto n = name_reserved_lines({std::nullopt, std::nullopt, std::nullopt}, {6, 1, 0}, params("cma=32M cma_pernuma=16M", {6, 1, 0}));
    CHECK(n.default_index == 2u);
    CHECK(n.names == std::vector<std::string>{"pernuma0", "pernuma1", ""});
  }
  SECTION("7.3: the default area first; numa_cma= names the nodes that have one") {
    const auto n = name_reserved_lines({std::nullopt, std::nullopt}, {7, 3, 0}, params("cma=32M numa_cma=1:16M", {7, 3, 0}));
    CHECK(n.default_index == 0u);
    CHECK(n.names == std::vector<std::string>{"", "numa1"});
  }
  SECTION("6.12: the line says the node; -1 is the default area") {
    const auto n = name_reserved_lines({0, -1}, {6, 12, 0}, params("cma=32M numa_cma=0:8M", {6, 12, 0}));
    CHECK(n.default_index == 1u);
    CHECK(n.names == std::vector<std::string>{"numa0", ""});
  }
  SECTION("cma=0: every line is a node's, even a single one") {
    const auto n = name_reserved_lines({std::nullopt}, {7, 3, 0}, params("cma=0 numa_cma=0:16M", {7, 3, 0}));
    CHECK_FALSE(n.default_index);
    CHECK(n.names == std::vector<std::string>{"numa0"});
  }
}
