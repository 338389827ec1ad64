#!/bin/sh
# Table 6 (issue 10), inference cost: renders the latest ok `moil bench-infer`
# run of the results database (table_id 'inference'; its rows:
# scripts/inference_rows.sql, the ones figure 5 plots) as Markdown, written
# atomically. A script beside scripts/figures.sh rather than a table of
# `moil table render`: it is one run's timings, not runs over rows, tasks and
# seeds, so it has no layout, cells or plan. Usage: --help.
set -eu

usage() {
    cat <<'USAGE'
usage: scripts/table_inference.sh [--db PATH] [--profile P] [--out DIR|-]

Writes DIR/inference.md (default DIR results/tables/P, P default quick; - prints
to stdout) from the latest ok run with table_id 'inference' of the results
database (default results/moil.db): per method, milliseconds per example as
trained and merged, the ratio of its deployed time (merged when it merges) to
full tuning's, and whether it merges. Exit 1 with a message when the database
or such a run is missing. Ends with name=value lines: md, run_id, methods.
USAGE
}

DB=results/moil.db
PROFILE=quick
OUT=
while [ $# -gt 0 ]; do
    case $1 in
        --db|--profile|--out)
            [ $# -ge 2 ] || { echo "table_inference: $1 needs a value" >&2; exit 2; }
            case $1 in --db) DB=$2 ;; --profile) PROFILE=$2 ;; --out) OUT=$2 ;; esac
            shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "table_inference: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
OUT=${OUT:-results/tables/$PROFILE}
[ -f "$DB" ] || { echo "table_inference: $DB: no such results database" >&2; exit 1; }
ROWS=$(cat "$(dirname "$0")/inference_rows.sql")
query() { sqlite3 -readonly -batch -noheader -separator '|' "$DB" "$1"; }

run=$(query "WITH $ROWS SELECT r.id || '|' || r.task || '|' || r.threads || '|' ||
             coalesce(json_extract(r.config_json, '\$.eval_limit'), '?') || '|' ||
             coalesce(json_extract(r.config_json, '\$.repeats'), '?') || '|' || r.model
             FROM runs AS r WHERE r.id = (SELECT id FROM last);") ||
    { echo "table_inference: $DB: query failed" >&2; exit 1; }
if [ -z "$run" ]; then
    echo "table_inference: $DB: no ok inference run: run 'moil bench-infer --init <backbone.safetensors>' (run_all.sh does, in its figures stage)" >&2
    exit 1
fi
IFS='|' read -r run_id task threads limit repeats model <<EOF_RUN
$run
EOF_RUN

# num SQL FORMAT: the SQL text of SQL's value printed with FORMAT, or '—' when NULL.
num() { echo "CASE WHEN ($1) IS NULL THEN '—' ELSE printf('$2', $1) END"; }
# Markdown rows, in the tables' method order (others last).
body=$(query "WITH $ROWS,
    m AS (SELECT method, max(CASE form WHEN 'as_trained' THEN ms END) AS trained,
                 max(CASE form WHEN 'merged' THEN ms END) AS merged FROM infer GROUP BY method),
    f AS (SELECT trained FROM m WHERE method = 'full')
    SELECT '| ' || method || ' | ' || $(num trained %.3f) || ' | ' || $(num merged %.3f) || ' | ' ||
           $(num "coalesce(merged, trained) / (SELECT trained FROM f)" %.2f) || ' | ' ||
           CASE WHEN merged IS NOT NULL THEN 'yes' WHEN method = 'full' THEN '— (plain weights)' ELSE 'no' END || ' |'
    FROM m ORDER BY CASE instr(' full heads bitfit prompt adapter lora dora moil ', ' ' || method || ' ')
                    WHEN 0 THEN 1000 ELSE instr(' full heads bitfit prompt adapter lora dora moil ', ' ' || method || ' ')
                    END, method;") || { echo "table_inference: $DB: query failed" >&2; exit 1; }
n=$(printf '%s\n' "$body" | grep -c '^|' || true)

md=$(cat <<EOF_MD
## inference: Inference cost: time per example, as trained and merged

Ours, profile $PROFILE ($model-style backbone, fashion-scenes): the latest \`moil bench-infer\` run (run $run_id), task $task, the fastest of $repeats evaluation passes over $limit validation examples on $threads thread(s). As trained: the method's hooks attached (LoRA/DoRA branches, adapters, prompt tokens); merged: the update folded into plain weights. Ratio: the deployed time (merged when the method merges, else as trained) over full tuning's; —: none.

| Method | As trained (ms/example) | Merged (ms/example) | Ratio to full | Can merge |
|---|---:|---:|---:|---|
$body
EOF_MD
)
if [ "$OUT" = - ]; then
    printf '%s\n' "$md"
else
    mkdir -p "$OUT"
    printf '%s\n' "$md" > "$OUT/inference.md.tmp" || { rm -f "$OUT/inference.md.tmp"; echo "table_inference: writing $OUT/inference.md failed" >&2; exit 1; }
    mv "$OUT/inference.md.tmp" "$OUT/inference.md"
    echo "md=$OUT/inference.md"
fi
printf 'run_id=%s\nmethods=%s\n' "$run_id" "$n"
