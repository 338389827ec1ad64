#!/bin/sh
# NLVR accuracy by kind of statement: which statements a method's runs
# answer and which stay at the level of a constant answer, from the per-item
# scores the results database keeps (moil db export --what items) and the
# sentences of the NLVR file they were scored on. Usage: --help.
set -eu

usage() {
    cat <<'USAGE'
usage: scripts/nlvr_kinds.sh [--db PATH] [--data DIR] [--table ID] [--profile P]
                             [--row LABEL ...]

Prints a Markdown table of NLVR test accuracy (percent) by kind of statement
(its opening words: "both images contain", "exactly one image contains",
"neither image contains", "the left/right image has more", "both images have
the same number of", "there is/are exactly", "the left/right image contains
exactly") and by whether it names an item (a class or a super-class: a
statement without the word "object"), with an "all" row per group, for rows
of table ID (default main) of profile P (default full) in the results
database (default results/moil.db): each row's NLVR runs as the table shows
them (table_values: its seeds, and its variant, e.g. MoIL's EMA teacher),
scored on the file DIR/nlvr/test1.json (default datasets/data/full).
Columns: the kind, whether it names an item, its number of statements the
runs scored, the better constant answer (the share of its commoner label:
what always answering it scores), then one column per table row (--row,
repeatable; default "Full tuning" and "MoIL"), in the order given: the mean
over seeds, +- a 95% half-width (normal approximation, conservative: item
sampling p(1-p)/n plus seed variance sd^2/seeds), and the number of seeds.
USAGE
}

DB=results/moil.db
DATA=datasets/data/full
TABLE=main
PROFILE=full
ROWS=""
nl='
'
while [ $# -gt 0 ]; do
    case $1 in
        --db|--data|--table|--profile|--row)
            [ $# -ge 2 ] || { echo "nlvr_kinds: $1 needs a value" >&2; exit 2; }
            case $1 in
                --db) DB=$2 ;; --data) DATA=$2 ;; --table) TABLE=$2 ;; --profile) PROFILE=$2 ;;
                --row) ROWS="$ROWS$2$nl" ;;
            esac
            shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "nlvr_kinds: unknown argument '$1' (--help)" >&2; exit 2 ;;
    esac
done
[ -n "$ROWS" ] || ROWS="Full tuning${nl}MoIL$nl"
# every value goes into SQL text or a URI: no quotes, no URI specials
for v in "$DB" "$DATA" "$TABLE" "$PROFILE" $(printf '%s' "$ROWS" | tr ' \n' '__'); do
    case $v in *[\'\"%?#]*) echo "nlvr_kinds: '$v': quotes, %, ? and # are not accepted" >&2; exit 2 ;; esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
MOIL=${MOIL:-$root/moil}
file=$DATA/nlvr/test1.json
[ -f "$DB" ] || { echo "nlvr_kinds: $DB: no such results database" >&2; exit 1; }
[ -f "$file" ] || { echo "nlvr_kinds: $file: no such NLVR file" >&2; exit 1; }
# the database read-only, and immutable (no -wal or -shm made beside it) when
# no writer's -wal is there
mode="mode=ro"
[ -e "$DB-wal" ] || mode="mode=ro&immutable=1"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$MOIL" db export --db "$DB" --what items --table "$TABLE" --task nlvr --status ok >"$tmp/items.csv"

# the rows asked for, in their order, one column each: mean +- half-width (seeds)
cols="" wanted="" k=0
while IFS= read -r r; do
    [ -n "$r" ] || continue
    k=$((k + 1))
    wanted="$wanted UNION ALL SELECT $k, '$r'"
    cols="$cols, max(CASE WHEN m.label = '$r' THEN printf('%.1f ± %.1f (%d)', 100 * m.p, 196 * sqrt(m.p * (1 - m.p) / m.n + m.var / m.seeds), m.seeds) END) AS \"$r\""
done <<ROWS
$ROWS
ROWS

sqlite3 -bail :memory: <<SQL
CREATE TABLE lines (j TEXT);
.mode ascii
.separator "\037" "\n"
.import '$file' lines
.import --csv '$tmp/items.csv' items
ATTACH 'file:$DB?$mode' AS db;
-- the runs of each row asked for, and the split of the variant it shows
CREATE TABLE wanted AS SELECT * FROM (SELECT 0 AS ord, '' AS label $wanted) WHERE ord > 0;
CREATE TABLE cells AS
  SELECT w.label, v.seed, v.run_id, v.split FROM wanted AS w JOIN db.table_values AS v ON v.row_label = w.label
  WHERE v.table_id = '$TABLE' AND v.profile = '$PROFILE' AND v.task = 'nlvr' AND v.metric = 'accuracy';
.output '$tmp/warnings.txt'
.mode list
SELECT 'nlvr_kinds: $DB: row "' || label || '" has no ok NLVR run in table $TABLE (profile $PROFILE)'
  FROM wanted WHERE label NOT IN (SELECT label FROM cells);
.output stdout
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
CREATE TABLE scored AS SELECT * FROM kinds WHERE id IN (SELECT i.item FROM items AS i JOIN cells AS c
  ON c.run_id = i.run_id AND c.split = i.split WHERE i.name = 'accuracy');
CREATE TABLE groups AS SELECT id, truth, kind, named FROM scored UNION ALL SELECT id, truth, '9 all', named FROM scored;
CREATE TABLE per_seed AS
  SELECT c.label, c.seed, g.kind, g.named, avg(i.value) / 100 AS acc, count(*) AS n
  FROM cells AS c JOIN items AS i ON i.run_id = c.run_id AND i.split = c.split AND i.name = 'accuracy'
  JOIN groups AS g ON g.id = i.item GROUP BY c.label, c.seed, g.kind, g.named;
CREATE TABLE per_row AS
  SELECT label, kind, named, avg(acc) AS p, min(n) AS n, count(*) AS seeds,
         CASE WHEN count(*) > 1 THEN (sum(acc * acc) - sum(acc) * sum(acc) / count(*)) / (count(*) - 1) ELSE 0 END AS var
  FROM per_seed GROUP BY label, kind, named;
CREATE TABLE group_sizes AS
  SELECT kind, named, count(*) AS n, 100.0 * max(sum(truth), count(*) - sum(truth)) / count(*) AS constant
  FROM groups GROUP BY kind, named;
SELECT substr(g.kind, 3) AS statement, g.named AS "names an item", g.n AS n,
       printf('%.1f', g.constant) AS "constant answer" $cols
FROM group_sizes AS g LEFT JOIN per_row AS m ON m.kind = g.kind AND m.named = g.named
GROUP BY g.kind, g.named ORDER BY g.named DESC, g.kind;
SQL
cat "$tmp/warnings.txt" >&2
