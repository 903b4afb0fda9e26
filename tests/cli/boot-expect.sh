#!/bin/sh
# tests/cli/boot-expect.sh CODE PATTERN CMD ARGS… — passes when CMD exits with exactly
# CODE and its stdout+stderr contain a line matching the extended regex PATTERN
# (so an exit 2 for the wrong reason, or a right answer without its note, fails).
want=$1; pattern=$2; shift 2
out=$("$@" 2>&1)
got=$?
printf '%s\n' "$out"
if [ "$got" -ne "$want" ]; then echo "expected exit $want, got $got: $*" >&2; exit 1; fi
if ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then echo "no line matches '$pattern': $*" >&2; exit 1; fi
echo "exit $got and /$pattern/ as expected"
