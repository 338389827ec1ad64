#!/bin/sh
# The learning-rate selection (docs/recipe.md, "Learning rates"): from the
# runs of table sweep_lr (every method at several peak rates, VQA, scored on
# the validation split only), each method's best mean validation score, and
# with --write the 'method' lines of profiles.conf set to it. Test scores are
# not read. Usage: --help.
set -eu

usage() {
    cat <<'USAGE'
usage: scripts/select_lr.sh [--db PATH] [--profile P] [--experiments DIR] [--write]

Prints, per method, every rate of table sweep_lr in profile P (default quick)
of the results database (default results/moil.db) with its mean VQA score on
the validation split and its number of seeds, '*' beside the best (ties: the
smaller rate), then one profiles.conf line per method:
  method | P | METHOD | --lr RATE
With --write, DIR/profiles.conf's 'method | P | METHOD | ...' lines (DIR
default experiments) are replaced by these, in place; methods without a line
get one after the profile's last 'method' line. Exit 1 with a message when the
database has no validation score of the table. Ends with name=value lines:
methods, written (1 or 0).
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

# method|rate|mean|n, ordered by method then rate
ROWS=$(sqlite3 -readonly -batch -noheader -separator '|' "$DB" "
    SELECT r.method, json_extract(r.config_json, '\$.lr') AS lr, avg(v.value), count(v.value)
    FROM table_values AS v JOIN runs AS r ON r.id = v.run_id
    WHERE v.table_id = 'sweep_lr' AND v.profile = '$PROFILE' AND v.split = 'val' AND v.metric = 'vqa_score'
    GROUP BY r.method, lr ORDER BY r.method, lr;")
[ -n "$ROWS" ] || { echo "select_lr: $DB has no validation score of table sweep_lr in profile $PROFILE (run_all.sh --profile $PROFILE --table sweep_lr)" >&2; exit 1; }

# method|best rate, the smaller rate on ties (rows come in increasing rate)
BEST=$(printf '%s\n' "$ROWS" | awk -F'|' '
    !($1 in best) || $3 > score[$1] { best[$1] = $2; score[$1] = $3 }
    END { for (m in best) print m "|" best[m] }' | sort)

printf '| method | lr | VQA score (val) | seeds |\n|---|---|---|---|\n'
printf '%s\n' "$ROWS" | while IFS='|' read -r m lr mean n; do
    mark=
    [ "$(printf '%s\n' "$BEST" | grep -x "$m|$lr" || true)" ] && mark=' *'
    printf '| %s | %g | %.2f%s | %s |\n' "$m" "$lr" "$mean" "$mark" "$n"
done
echo
LINES=$(printf '%s\n' "$BEST" | awk -F'|' -v p="$PROFILE" '{ printf "method | %s | %-7s | --lr %g\n", p, $1, $2 }')
printf '%s\n' "$LINES"

written=0
if [ "$WRITE" = 1 ]; then
    conf=$EXPS/profiles.conf
    [ -f "$conf" ] || { echo "select_lr: $conf: no such file" >&2; exit 1; }
    tmp=$conf.select_lr.$$
    printf '%s\n' "$LINES" | awk -F'|' -v p="$PROFILE" '
        function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
        NR == FNR { want[trim($3)] = $0; order[++n] = trim($3); next }
        { line[++m] = $0
          if (trim($1) == "method" && trim($2) == p) { last = m; meth = trim($3)
              if (meth in want) { line[m] = want[meth]; done[meth] = 1 } } }
        END { for (i = 1; i <= m; i++) { print line[i]
                  if (i == last) for (k = 1; k <= n; k++) if (!(order[k] in done)) print want[order[k]] }
              if (!last) for (k = 1; k <= n; k++) print want[order[k]] }' - "$conf" >"$tmp" &&
        mv "$tmp" "$conf" || { rm -f "$tmp"; echo "select_lr: cannot write $conf" >&2; exit 1; }
    written=1
fi
echo "methods=$(printf '%s\n' "$BEST" | wc -l | tr -d ' ')"
echo "written=$written"
