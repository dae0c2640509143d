#!/usr/bin/env bash
# Run make targets one after the other as the stages of `make test`, and print what each took,
# so the cost of the suite stays visible in every CI log. Stops at the first stage that fails;
# the table is printed either way (the failed stage last, marked).
# Usage: lab/stages.sh TARGET [TARGET ...]
set -uo pipefail
mkdir -p build
table=build/stage-times.txt
: >"$table"
started=$(date +%s)
rc=0
for stage in "$@"; do
    begin=$(date +%s)
    echo "== stage $stage: started $(date -u +%H:%M:%S)"
    make --no-print-directory "$stage"
    rc=$?
    took=$(( $(date +%s) - begin ))
    status=ok
    [ "$rc" -eq 0 ] || status="FAILED (rc $rc)"
    printf '%-10s %4dm%02ds  %s\n' "$stage" $((took / 60)) $((took % 60)) "$status" >>"$table"
    [ "$rc" -eq 0 ] || break
done
total=$(( $(date +%s) - started ))
echo
echo "== time per stage (make test)"
cat "$table"
printf '%-10s %4dm%02ds\n' total $((total / 60)) $((total % 60))
exit "$rc"
