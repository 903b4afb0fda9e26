# tests/cli/steps-from-trace.awk — the CMA bitmap's free pages after every workload step,
# derived from a trace.txt alone (independently of cmasim):
#
#   awk -v area=PAGES -f tests/cli/steps-from-trace.awk trace.txt
#
# area: the area's page count, from the dmesg's `cma: Reserved N MiB` line (N*256 pages).
# Output: one `STEP n free_pages` line per `tracing_mark_write: step n:` marker, where
# free_pages = area - pages held at the next step marker (at the end of the trace for the
# last step), and pages held = counts of the successful cma_alloc_finish events (errorno=0,
# or no errorno field as on 6.1, and a pfn other than the failure value) minus the counts of
# the cma_release events, boot-time ones (before step 1) included.
# A failed cma_alloc_finish is `pfn=0xffffffffffffffff page=0000000000000000` on 6.1 and 6.12
# (6.12 adds `errorno=-12`); both rules are applied.
# Every cma_release must free a buffer that a successful cma_alloc_finish handed out (same
# pfn and count) and is still held; otherwise a line `UNPAIRED …` goes to stderr and the exit
# status is 3.  A trace whose ring buffer overwrote events (entries-in-buffer <
# entries-written in the header) cannot be summed: the exit status is then 4.
function field(name,    i) { # value of name=… on this line, "" when absent
	for (i = 1; i <= NF; i++)
		if (index($i, name "=") == 1) return substr($i, length(name) + 2)
	return ""
}
function emit() { if (step != "") printf "STEP %s %d\n", step, area - held }
BEGIN {
	if (area == "" || area + 0 <= 0) { print "steps-from-trace.awk: pass -v area=PAGES" > "/dev/stderr"; bad = 2; exit 2 }
	step = ""; held = 0; unpaired = 0
}
/^# entries-in-buffer\/entries-written:/ {
	split($3, e, "/")
	if (e[1] + 0 != e[2] + 0) { printf "steps-from-trace.awk: %s: the trace lost events (%s)\n", FILENAME, $3 > "/dev/stderr"; bad = 4; exit 4 }
	next
}
/^#/ { next }
/ tracing_mark_write: step [0-9]+:/ {
	emit()
	s = $0; sub(/.* tracing_mark_write: step /, "", s); sub(/:.*/, "", s)
	step = s
	next
}
/ cma_alloc_finish: / {
	pfn = field("pfn"); cnt = field("count"); err = field("errorno")
	if (err == "") err = 0
	if (err + 0 != 0 || pfn == "0xffffffffffffffff") next
	held += cnt
	live[pfn] = cnt
	next
}
/ cma_release: / {
	pfn = field("pfn"); cnt = field("count")
	if (!(pfn in live) || live[pfn] != cnt) {
		printf "UNPAIRED %s:%d: %s\n", FILENAME, FNR, $0 > "/dev/stderr"; unpaired++
	} else delete live[pfn]
	held -= cnt
	next
}
END {
	if (bad) exit bad
	emit()
	if (unpaired) exit 3
}
