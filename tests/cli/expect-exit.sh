#!/bin/sh
# tests/cli/expect-exit.sh CODE CMD ARGS… — passes when CMD exits with exactly CODE.
want=$1; shift
"$@"
got=$?
if [ "$got" -ne "$want" ]; then echo "expected exit $want, got $got: $*" >&2; exit 1; fi
echo "exit $got as expected"
