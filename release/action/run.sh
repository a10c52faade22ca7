#!/usr/bin/env bash
# The Action's run step: smoke with the inputs given, its reports in RUNNER_TEMP, a job summary
# and an ::error annotation per failed scenario (smoke report github), the report paths as
# outputs; exits with smoke's code.
# Inputs: SMOKE (the binary), INPUT_CONFIG, INPUT_PLUGIN, INPUT_BASE_URL, INPUT_SHARD, INPUT_ARGS
# (more arguments, split as a shell would, quotes kept, nothing expanded or run).
set -euo pipefail

smoke="${SMOKE:?SMOKE is not set}"
# A directory of this step's own: two uses of the Action in one job keep their reports apart.
mkdir -p "${RUNNER_TEMP:?RUNNER_TEMP is not set}"
reports="$(mktemp -d "$RUNNER_TEMP/smoke-reports.XXXXXX")"
args=(run --report-json "$reports/report.json" --report-junit "$reports/smoke.xml" --report-html "$reports/smoke.html")
[ -z "${INPUT_CONFIG:-}" ] || args+=(--config "$INPUT_CONFIG")
[ -z "${INPUT_PLUGIN:-}" ] || args+=(--plugin "$INPUT_PLUGIN")
[ -z "${INPUT_BASE_URL:-}" ] || args+=(--base-url "$INPUT_BASE_URL")
[ -z "${INPUT_SHARD:-}" ] || args+=(--shard "$INPUT_SHARD")
if [[ "${INPUT_ARGS:-}" =~ [^[:space:]] ]]; then
    # xargs splits on blanks and honours quotes, without a shell: nothing in it is run. An
    # unbalanced quote is an error, never a shorter command line.
    if ! printf '%s' "$INPUT_ARGS" | xargs -r printf '%s\0' >"$reports/args" 2>"$reports/args.err"; then
        echo "::error title=smoke action::the args input cannot be split: $(tr '\n%' '  ' <"$reports/args.err")"
        exit 2
    fi
    mapfile -d '' extra <"$reports/args"
    args+=("${extra[@]}")
fi

set +e
"$smoke" "${args[@]}"
code=$?
set -e

summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
if [ -s "$reports/report.json" ]; then
    # The annotations go to stdout, where the runner reads workflow commands.
    "$smoke" report github "$reports/report.json" --summary "$summary" || true
else
    printf '## smoke: FAIL\n\nsmoke exited %s before writing a report: its log above says why.\n' "$code" >>"$summary"
    echo "::error title=smoke::smoke exited $code before writing a report (see the log)"
fi
{
    echo "exit-code=$code"
    echo "report-json=$reports/report.json"
    echo "report-junit=$reports/smoke.xml"
    echo "report-html=$reports/smoke.html"
} >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
exit "$code"
