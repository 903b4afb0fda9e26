#!/bin/bash
# tests/cli/plan-vs-real.sh CMASIM KERNEL WORKLOAD OUT — `cmasim plan`'s answer, checked on the real
# kernel (QEMU stage, issue 13).
#   1. plan the workload on KERNEL (1G RAM, the recorder's command line) over 16M..512M/4M: the
#      smallest size S that serves every step, and the failures it predicts at S − 4M;
#   2. record the workload on the real kernel with cma=S: no step may see cma_alloc_fail grow;
#   3. record it with cma=S−4M: the real kernel must fail there too, on as many steps as plan said.
# A failure is what plan counts for a workload: a step during which /proc/vmstat's
# cma_alloc_fail grew (steps.txt, written by the recorder inside the guest).
set -uo pipefail
C=$1 K=$2 W=$3 OUT=$4
mkdir -p "$OUT"
"$C" plan --workload "$W" --kernel "$K" --mem 1G --cmdline cma=64M --sizes 16M..512M/4M --json > "$OUT/plan.json"
rc=$?
[ "$rc" = 0 ] || { echo "FAIL: cmasim plan exited $rc (no size up to 512M serves the workload?)"; exit 1; }
read -r S F BELOW < <(python3 - "$OUT/plan.json" "$K" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
k = sys.argv[2]
sm = [s["size"] for s in p.get("smallest", []) if s["kernel"].startswith(k)]
if not sm:
    print("none 0 0"); sys.exit()
s = sm[0]
below = s - (4 << 20)
f = [c["failures"] for c in p["configurations"] if c["kernel"].startswith(k) and c["size"] == below and "failures" in c]
print(s >> 20, f[0] if f else -1, below >> 20)
PY
)
[ "$S" != none ] || { echo "FAIL: plan names no smallest size for $K"; exit 1; }
echo "plan: smallest cma= serving every step on $K: ${S}M; at ${BELOW}M it predicts $F failing step(s)"
[ "$F" -gt 0 ] || { echo "FAIL: plan says ${BELOW}M fails but gives $F failures"; exit 1; }

failing_steps() { # steps during which cma_alloc_fail grew (the first step compared with insmod's value)
	awk '/^@@STEP/ { if (match($0, /cma_alloc_fail=[0-9]+/)) { v = substr($0, RSTART + 15, RLENGTH - 15) + 0;
	        if (seen && v > prev) n++; prev = v; seen = 1 } } END { print n + 0 }' "$1/steps.txt"
}
for size in "$S" "$BELOW"; do
	"$C" record --kernel "$K" --mem 1G --cmdline "cma=${size}M" --workload "$W" --out "$OUT/rec-${size}M" --timeout 300 \
		> "$OUT/record-${size}M.log" 2>&1 || { tail -20 "$OUT/record-${size}M.log"; echo "FAIL: cmasim record cma=${size}M"; exit 1; }
done
# The first step's own failure is counted from the value before it: insmod's line in steps.txt has no
# counters, so a failure in step 1 is compared with the boot's 0 (the recorder's pools never fail).
real_s=$(failing_steps "$OUT/rec-${S}M")
real_b=$(failing_steps "$OUT/rec-${BELOW}M")
first_s=$(sed -n 's/^@@STEP 1 .*cma_alloc_fail=\([0-9]*\).*/\1/p' "$OUT/rec-${S}M/steps.txt")
first_b=$(sed -n 's/^@@STEP 1 .*cma_alloc_fail=\([0-9]*\).*/\1/p' "$OUT/rec-${BELOW}M/steps.txt")
[ "${first_s:-0}" -gt 0 ] && real_s=$((real_s + 1))
[ "${first_b:-0}" -gt 0 ] && real_b=$((real_b + 1))
echo "real $K, cma=${S}M: $real_s failing step(s) (plan: 0)"
echo "real $K, cma=${BELOW}M: $real_b failing step(s) (plan: $F)"
[ "$real_s" = 0 ] || { echo "FAIL: the real kernel failed at the size plan said serves everything"; exit 1; }
[ "$real_b" = "$F" ] || { echo "FAIL: the real kernel failed on $real_b steps at ${BELOW}M, plan said $F"; exit 1; }
echo "ok: plan's smallest size and the one below it hold on the real $K kernel"
