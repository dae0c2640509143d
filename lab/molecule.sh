#!/usr/bin/env bash
# Run the molecule scenarios given as arguments, one after the other, each with its full log in
# build/molecule-SCENARIO.log. When one fails, stop and print its failed tasks (task name and the
# failure line) as the very last lines: a CI that keeps only the tail of the output still shows
# which task failed and why, not just molecule's recap.
set -uo pipefail
mkdir -p build
for scenario in "$@"; do
    log="build/molecule-$scenario.log"
    molecule test -s "$scenario" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    if [ "$rc" -ne 0 ]; then
        echo
        echo "== molecule scenario $scenario failed (rc $rc); its failed tasks (whole log: $log):"
        # the last TASK header before each fatal:/failed: line, and the failure (molecule wraps
        # it over several lines): joined again, cut to 1200 characters
        sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
            function flush() { if (failure != "") { print task; print "  " substr(failure, 1, 1200); failure = "" } }
            { line = $0; sub(/^ *[^ a-zA-Z]* ?/, "", line) }
            /TASK \[/ { flush(); task = line; sub(/^.*TASK \[/, "TASK [", task); next }
            /(fatal|failed): \[/ { flush(); failure = line; more = 12; next }
            more > 0 { more--; if (line ~ /^(PLAY|TASK|ok:|changed:|skipping:)/) more = 0; else failure = failure " " line }
            END { flush() }' | tail -n 24
        exit "$rc"
    fi
done
