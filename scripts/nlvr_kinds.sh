#!/bin/sh
# NLVR accuracy by kind of statement: which statements a method's runs
# answer and which stay at the level of a constant answer, from the per-item
# scores the results database keeps (moil db export --what items) and the
# sentences of the NLVR file they were scored on. Usage: --help.
set -eu

usage() {
    cat <<'USAGE'
usage: scripts/nlvr_kinds.sh [--db PATH] [--data DIR] [--table ID] [--model M]
                             [--split S] [--method M ...]

Prints a Markdown table of NLVR test accuracy (percent) by kind of statement
(its opening words: "both images contain", "exactly one image contains",
"neither image contains", "the left/right image has more", "both images have
the same number of", "there is/are exactly", "the left/right image contains
exactly") and by whether it names an item (a class or a super-class: a
statement without the word "object"), with an "all" row per group, for the ok
NLVR runs of table ID (default main) and model M (default vilt) in the
results database (default results/moil.db), scored on the file
DIR/nlvr/test1.json (default datasets/data/full). Columns: the kind, whether
it names an item, its number of statements the runs scored, the better constant answer (the
share of its commoner label: what always answering it scores), then one
column per method (--method, repeatable; default full and moil), in the
order given: the mean over seeds, +- a 95% half-width (normal approximation,
conservative: item sampling p(1-p)/n plus seed variance sd^2/seeds), and the
number of seeds. S (default test) is the split of the scores: test@ema and
test@online are MoIL's teachers.
USAGE
}

DB=results/moil.db
DATA=datasets/data/full
TABLE=main
MODEL=vilt
SPLIT=test
METHODS=""
while [ $# -gt 0 ]; do
    case $1 in
        --db|--data|--table|--model|--split|--method)
            [ $# -ge 2 ] || { echo "nlvr_kinds: $1 needs a value" >&2; exit 2; }
            case $1 in
                --db) DB=$2 ;; --data) DATA=$2 ;; --table) TABLE=$2 ;; --model) MODEL=$2 ;;
                --split) SPLIT=$2 ;; --method) METHODS="$METHODS $2" ;;
            esac
            shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "nlvr_kinds: unknown argument '$1' (--help)" >&2; exit 2 ;;
    esac
done
[ -n "$METHODS" ] || METHODS="full moil"
for m in $METHODS; do
    case $m in *[!a-z0-9_]*) echo "nlvr_kinds: --method '$m': not a method name" >&2; exit 2 ;; esac
done
case $SPLIT in *[!a-z0-9_@]*) echo "nlvr_kinds: --split '$SPLIT': not a split name" >&2; exit 2 ;; esac
case $DATA in *\'*) echo "nlvr_kinds: --data '$DATA': a quote in the path" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
MOIL=${MOIL:-$root/moil}
file=$DATA/nlvr/test1.json
[ -f "$DB" ] || { echo "nlvr_kinds: $DB: no such results database" >&2; exit 1; }
[ -f "$file" ] || { echo "nlvr_kinds: $file: no such NLVR file" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$MOIL" db export --db "$DB" --what items --table "$TABLE" --task nlvr --model "$MODEL" --status ok >"$tmp/items.csv"
for m in $METHODS; do
    grep -q "^[0-9]*,[^,]*,nlvr,[^,]*,$m,[0-9]*,ok,$SPLIT,accuracy," "$tmp/items.csv" ||
        echo "nlvr_kinds: $DB: no $SPLIT scores of an ok NLVR run of method $m in table $TABLE (model $MODEL)" >&2
done

# one column per method: mean +- half-width (seeds)
cols=""
for m in $METHODS; do
    cols="$cols, max(CASE WHEN m.method = '$m' THEN printf('%.1f ± %.1f (%d)', 100 * m.p, 196 * sqrt(m.p * (1 - m.p) / m.n + m.var / m.seeds), m.seeds) END) AS \"$m\""
done

sqlite3 -bail :memory: <<SQL
CREATE TABLE lines (j TEXT);
.mode ascii
.separator "\037" "\n"
.import '$file' lines
.import --csv '$tmp/items.csv' items
.mode markdown
-- every statement's kind, whether it names an item, and its label
CREATE TABLE kinds AS
  SELECT json_extract(j, '\$.identifier') AS id, json_extract(j, '\$.label') = 'True' AS truth,
         CASE WHEN s LIKE 'both images contain %' THEN '1 both images contain'
              WHEN s LIKE 'exactly one image contains %' THEN '2 exactly one image contains'
              WHEN s LIKE 'neither image contains %' THEN '3 neither image contains'
              WHEN s LIKE 'the % image has more %' THEN '4 the left/right image has more'
              WHEN s LIKE 'both images have the same number of %' THEN '5 the same number of'
              WHEN s LIKE 'there is exactly %' OR s LIKE 'there are exactly %' THEN '6 there is/are exactly N'
              WHEN s LIKE 'the % image contains exactly %' THEN '7 one image contains exactly N'
              ELSE '8 other' END AS kind,
         CASE WHEN s LIKE '%object%' THEN 'no' ELSE 'yes' END AS named
  FROM (SELECT j, json_extract(j, '\$.sentence') AS s FROM lines);
-- the scored statements, each also in kind 'all'
CREATE TABLE scored AS SELECT * FROM kinds WHERE id IN (SELECT item FROM items WHERE split = '$SPLIT');
CREATE TABLE groups AS SELECT id, truth, kind, named FROM scored UNION ALL SELECT id, truth, '9 all', named FROM scored;
CREATE TABLE per_seed AS
  SELECT i.method, i.seed, g.kind, g.named, avg(i.value) / 100 AS acc, count(*) AS n
  FROM items AS i JOIN groups AS g ON g.id = i.item
  WHERE i.split = '$SPLIT' AND i.name = 'accuracy' GROUP BY i.method, i.seed, g.kind, g.named;
CREATE TABLE per_method AS
  SELECT method, kind, named, avg(acc) AS p, min(n) AS n, count(*) AS seeds,
         CASE WHEN count(*) > 1 THEN (sum(acc * acc) - sum(acc) * sum(acc) / count(*)) / (count(*) - 1) ELSE 0 END AS var
  FROM per_seed GROUP BY method, kind, named;
CREATE TABLE group_sizes AS
  SELECT kind, named, count(*) AS n, 100.0 * max(sum(truth), count(*) - sum(truth)) / count(*) AS constant
  FROM groups GROUP BY kind, named;
SELECT substr(g.kind, 3) AS statement, g.named AS "names an item", g.n AS n,
       printf('%.1f', g.constant) AS "constant answer" $cols
FROM group_sizes AS g LEFT JOIN per_method AS m ON m.kind = g.kind AND m.named = g.named
GROUP BY g.kind, g.named ORDER BY g.named DESC, g.kind;
SQL
