#!/bin/sh
# The learning-rate selection (docs/recipe.md, "Learning rates"): from the
# runs of table sweep_lr (every method at several peak rates, each task
# scored on the validation split only), each method's best rate per task by
# its mean validation score, and with --write the 'method' lines of
# profiles.conf set to them. Test scores are
# not read. Usage: --help.
set -eu

usage() {
    cat <<'USAGE'
usage: scripts/select_lr.sh [--db PATH] [--profile P] [--experiments DIR] [--write]

Prints, per task of table sweep_lr (its first column of each task) and
method, every rate of the table in profile P (default quick) of the results
database (default results/moil.db) with its mean score on the validation
split and its number of seeds, '*' beside the best (ties: the smaller rate),
then the profiles.conf lines: the first column's task gives each method's
rate for every task, each other task a line of its own:
  method | P | METHOD | --lr RATE
  method | P | METHOD | --lr RATE | TASK
With --write, DIR/profiles.conf's matching 'method | P | METHOD | ...' lines
(DIR default experiments) are replaced by these, in place; the others are
added after the profile's last 'method' line. Exit 1 with a message when the
database has no validation score of the table. Ends with name=value lines:
methods, lines, written (1 or 0).
USAGE
}

DB=results/moil.db
PROFILE=quick
EXPS=experiments
WRITE=0
while [ $# -gt 0 ]; do
    case $1 in
        --db|--profile|--experiments)
            [ $# -ge 2 ] || { echo "select_lr: $1 needs a value" >&2; exit 2; }
            case $1 in --db) DB=$2 ;; --profile) PROFILE=$2 ;; --experiments) EXPS=$2 ;; esac
            shift 2 ;;
        --write) WRITE=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "select_lr: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ -f "$DB" ] || { echo "select_lr: $DB: no such results database" >&2; exit 1; }
case $PROFILE in *[!A-Za-z0-9_-]*|'') echo "select_lr: --profile '$PROFILE': letters, digits, - and _ only" >&2; exit 2 ;; esac

# task|method|rate|mean|n, each task's first column of the table, ordered by
# the column, method, rate
ROWS=$(sqlite3 -readonly -batch -noheader -separator '|' "$DB" "
    SELECT v.task, r.method, json_extract(r.config_json, '\$.lr') AS lr, avg(v.value), count(v.value)
    FROM table_values AS v JOIN runs AS r ON r.id = v.run_id
    WHERE v.table_id = 'sweep_lr' AND v.profile = '$PROFILE' AND v.split = 'val'
      AND v.col = (SELECT min(col) FROM table_columns WHERE table_id = 'sweep_lr' AND task = v.task)
    GROUP BY v.col, r.method, lr ORDER BY v.col, r.method, lr;")
[ -n "$ROWS" ] || { echo "select_lr: $DB has no validation score of table sweep_lr in profile $PROFILE (run_all.sh --profile $PROFILE --table sweep_lr)" >&2; exit 1; }

# task|method|best rate, the smaller rate on ties (rows come in increasing
# rate), in the table's column order
BEST=$(printf '%s\n' "$ROWS" | awk -F'|' '
    { k = $1 "|" $2 }
    !(k in best) { order[++n] = k }
    !(k in best) || $4 > score[k] { best[k] = $3; score[k] = $4 }
    END { for (i = 1; i <= n; i++) print order[i] "|" best[order[i]] }')

printf '| task | method | lr | score (val) | seeds |\n|---|---|---|---|---|\n'
printf '%s\n' "$ROWS" | while IFS='|' read -r t m lr mean n; do
    mark=
    [ "$(printf '%s\n' "$BEST" | grep -x "$t|$m|$lr" || true)" ] && mark=' *'
    printf '| %s | %s | %g | %.2f%s | %s |\n' "$t" "$m" "$lr" "$mean" "$mark" "$n"
done
echo
# the first column's task gives each method's rate for every task, the
# others a line of their own
LINES=$(printf '%s\n' "$BEST" | awk -F'|' -v p="$PROFILE" '
    NR == 1 { first = $1 }
    $1 == first { printf "method | %s | %-7s | --lr %g\n", p, $2, $3; next }
    { printf "method | %s | %-7s | --lr %g | %s\n", p, $2, $3, $1 }')
printf '%s\n' "$LINES"

written=0
if [ "$WRITE" = 1 ]; then
    conf=$EXPS/profiles.conf
    [ -f "$conf" ] || { echo "select_lr: $conf: no such file" >&2; exit 1; }
    tmp=$conf.select_lr.$$
    printf '%s\n' "$LINES" | awk -F'|' -v p="$PROFILE" '
        function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
        function key() { return trim($3) "|" (NF >= 5 ? trim($5) : "") }
        NR == FNR { want[key()] = $0; order[++n] = key(); next }
        { line[++m] = $0
          if (trim($1) == "method" && trim($2) == p) { last = m; k = key()
              if (k in want) { line[m] = want[k]; done[k] = 1 } } }
        END { for (i = 1; i <= m; i++) { print line[i]
                  if (i == last) for (j = 1; j <= n; j++) if (!(order[j] in done)) print want[order[j]] }
              if (!last) for (j = 1; j <= n; j++) print want[order[j]] }' - "$conf" >"$tmp" &&
        mv "$tmp" "$conf" || { rm -f "$tmp"; echo "select_lr: cannot write $conf" >&2; exit 1; }
    written=1
fi
echo "methods=$(printf '%s\n' "$BEST" | cut -d'|' -f2 | sort -u | wc -l | tr -d ' ')"
echo "lines=$(printf '%s\n' "$LINES" | wc -l | tr -d ' ')"
echo "written=$written"
