#!/bin/sh
# Runs the named test suites (make targets) one after another and adds up
# their results. A suite reports either a C harness line "N passed, N failed"
# or node's test-runner summary ("# pass N" / "ℹ pass N"). A suite that
# exits non-zero without reporting a failure counts as one failure, so a
# crash can never pass. The last line is the total, for CI.
total_pass=0
total_fail=0
failed_suites=""
log=$(mktemp)
for suite in "$@"; do
    echo "=== $suite"
    make --no-print-directory "$suite" >"$log" 2>&1
    rc=$?
    cat "$log"
    p=0; f=0
    c=$(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1 \2/p' "$log")
    if [ -n "$c" ]; then
        p=$(echo "$c" | awk '{s+=$1} END {print s}')
        f=$(echo "$c" | awk '{s+=$2} END {print s}')
    fi
    np=$(sed -n 's/^\(ℹ\|#\) pass \([0-9][0-9]*\)$/\2/p' "$log" | awk '{s+=$1} END {print s+0}')
    nf=$(sed -n 's/^\(ℹ\|#\) fail \([0-9][0-9]*\)$/\2/p' "$log" | awk '{s+=$1} END {print s+0}')
    p=$((p + np)); f=$((f + nf))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "suite $suite ran no test"; fi
    [ "$f" -ne 0 ] && failed_suites="$failed_suites $suite"
    echo "--- $suite: $p passed, $f failed"
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
done
rm -f "$log"
[ -n "$failed_suites" ] && echo "failing suites:$failed_suites"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
