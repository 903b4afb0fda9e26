// tests/consumer/main.cpp — uses the installed headers the way the README says.
#include <cma/allocator.hpp>

#include <cstdio>

int main() {
  // smoke trace (6.1, cma=128M at 0x76c00000): the three boot pools, then `alloc 1M`.
  auto a = cma::make_allocator("reserved", {0x76c00, 32768}, 0, "6.1");
  for (int i = 0; i < 3; ++i) a.alloc(32, 5);
  const auto r = a.alloc(256, 8);
  std::printf("alloc 1M -> pfn %#llx (kernel: 0x76d00)\n", static_cast<unsigned long long>(r.pfn));
  return r.pfn == 0x76d00 ? 0 : 1;
}
