#!/bin/sh
# tests/cli/huge-workload.sh SEED STEPS — a random two-area workload for `cmasim record`
# (--mem 3G --cmdline 'cma=32M hugetlb_cma=1G'): module buffers on the default area
# (`allocp N`, `alloc NM`, `free`) between hugetlb gigantic-page steps on the hugetlb area
# (`huge 32M N` with N in 0..34 — more than the 32 the area holds, so some fail over to the
# page allocator — and `huge 1G 0|1`).  Ends with every page given back.  Deterministic for
# a seed (awk's srand), printed on stdout.
seed=${1:?seed}; steps=${2:-40}
awk -v seed="$seed" -v steps="$steps" 'BEGIN {
	srand(seed)
	print "# random two-area workload, seed " seed ", " steps " steps (tests/cli/huge-workload.sh)"
	live = 0
	for (i = 0; i < steps; i++) {
		r = rand()
		if (r < 0.30) { printf "allocp %d\n", 1 + int(rand() * 2048); live++ }
		else if (r < 0.40) { printf "alloc %dM\n", 1 + int(rand() * 4); live++ }
		else if (r < 0.55 && live > 0) { print "free"; live-- }
		else if (r < 0.85) printf "huge 32M %d\n", int(rand() * 35)
		else printf "huge 1G %d\n", (rand() < 0.6) ? 1 : 0
	}
	print "huge 32M 0"
	print "huge 1G 0"
	print "freeall"
}'
