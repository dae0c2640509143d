#!/usr/bin/env bash
# Run make targets as the stages of `make test`, and print what each took, so the cost of the
# suite stays visible in every CI log. Stops at the first stage that fails; the table is printed
# either way (the failed stage last, marked).
#
# A stage written A+B runs the targets A and B at the same time: the first one's output goes to
# the terminal, the others' to build/stage-NAME.log, whose last lines are printed when they end
# (all of them when one failed). Used for the lab tests and the molecule scenarios, which wait on
# node start-up and timeouts far more than they use the CPU.
# Usage: lab/stages.sh STAGE [STAGE ...]   (STAGE: TARGET or TARGET+TARGET...)
set -uo pipefail
mkdir -p build
table=build/stage-times.txt
: >"$table"
started=$(date +%s)

record() {   # NAME SECONDS RC
    local status=ok
    [ "$3" -eq 0 ] || status="FAILED (rc $3)"
    printf '%-16s %4dm%02ds  %s\n' "$1" $(($2 / 60)) $(($2 % 60)) "$status" >>"$table"
}

run_together() {   # TARGET...: the first in the foreground, the others logged; -> the first failure's rc
    local begin pids=() names=() rc=0 i log
    begin=$(date +%s)
    for target in "${@:2}"; do
        log="build/stage-$target.log"
        ( start=$(date +%s); make --no-print-directory "$target" >"$log" 2>&1; rc=$?
          echo $(( $(date +%s) - start )) "$rc" >"build/stage-$target.result" ) &
        pids+=($!); names+=("$target")
        echo "== stage $target: started $(date -u +%H:%M:%S) beside $1 (its output: $log)"
    done
    make --no-print-directory "$1"
    local first_rc=$?
    record "$1" $(( $(date +%s) - begin )) "$first_rc"
    [ "$first_rc" -eq 0 ] || rc=$first_rc
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}"
        read -r took target_rc <"build/stage-${names[$i]}.result"
        record "${names[$i]}" "$took" "$target_rc"
        log="build/stage-${names[$i]}.log"
        echo
        if [ "$target_rc" -eq 0 ]; then
            echo "== stage ${names[$i]} (beside $1): ok; the end of $log:"
            tail -n 12 "$log"
        else
            echo "== stage ${names[$i]} (beside $1) FAILED (rc $target_rc); the end of $log:"
            tail -n 60 "$log"
            [ "$rc" -ne 0 ] || rc=$target_rc
        fi
    done
    return "$rc"
}

rc=0
for stage in "$@"; do
    begin=$(date +%s)
    echo "== stage $stage: started $(date -u +%H:%M:%S)"
    if [[ "$stage" == *+* ]]; then
        IFS=+ read -r -a targets <<<"$stage"
        run_together "${targets[@]}"
        rc=$?
        [ "$rc" -eq 0 ] || break
        continue
    fi
    make --no-print-directory "$stage"
    rc=$?
    record "$stage" $(( $(date +%s) - begin )) "$rc"
    [ "$rc" -eq 0 ] || break
done
total=$(( $(date +%s) - started ))
echo
echo "== time per stage (make test)"
cat "$table"
printf '%-16s %4dm%02ds\n' total $((total / 60)) $((total % 60))
exit "$rc"
