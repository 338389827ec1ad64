#!/usr/bin/env bash
# scripts/rerun.sh: redo one recorded fine-tuning run of a results database
# from a clone of the commit that made it, and compare what the two computed.
# The run's arguments are those run_all.sh recorded for it (run_keys), its
# commit runs.code_rev, its thread count runs.threads, its OpenBLAS core the
# one it recorded; the rerun logs into a database of its own, and the
# comparison reads both through sqlite3 (read-only for the original).
# Usage: --help.
set -u
top=$(cd "$(dirname "$0")/.." && pwd) || exit 2

usage() {
    cat <<'USAGE'
usage: scripts/rerun.sh RUN_ID [--db PATH] [--src DIR] [--out DIR]
                        [--data DIR] [--init FILE] [--weights FILE] [--args TEXT]

Redoes fine-tuning run RUN_ID of the results database from its commit, with
its recorded arguments, thread count and OpenBLAS core (OPENBLAS_CORETYPE set
to the one the run recorded, unset when it recorded none), and compares the
two runs.
  --db PATH       the database that holds the run (default results/moil.db);
                  only read
  --src DIR       a checkout of the run's commit: when DIR does not exist, it
                  is cloned from this repository, checked out at the commit and
                  built (make moil, log in DIR/rerun-build.log); when it exists
                  it must be a clean checkout of that commit with moil built
                  (default: OUT/src)
  --out DIR       where the rerun writes: rerun.db and model/ (default a new
                  folder under /tmp); must not hold a rerun.db already
  --data DIR      the dataset, where it is not at the recorded path (the
                  rerun's config records its data hash, compared below)
  --init FILE     the backbone, likewise
  --weights FILE  the original run's model.safetensors: compare weights hashes
  --args TEXT     the moil finetune arguments, for a run made by hand
                  (run_keys holds only run_all.sh's); the config comparison
                  shows whether they make the run's config
The rerun runs from this repository's top folder, so relative paths in the
recorded arguments resolve as they did for run_all.sh.
Compared: the config (its data and backbone paths and numeric environment
apart, the environment reported on its own), every metric but the timings
(*_seconds), every logged curve point, every per-item score set (the same
bytes), and the weights hash when --weights is given.
Ends with name=value lines: run, code_rev, rerun_db, config, numeric_env,
metrics, curves, item_scores, weights, verdict (identical or differs); each
count is SAME/TOTAL. Exit status: 0 identical, 1 differs, 2 refused.
USAGE
}

die() { echo "rerun.sh: $*" >&2; exit 2; }

run_id="" db=results/moil.db src="" out="" data="" init="" weights="" args=""
while [ $# -gt 0 ]; do
    case "$1" in
    --db) db=${2:?--db needs a value}; shift ;;
    --src) src=${2:?--src needs a value}; shift ;;
    --out) out=${2:?--out needs a value}; shift ;;
    --data) data=${2:?--data needs a value}; shift ;;
    --init) init=${2:?--init needs a value}; shift ;;
    --weights) weights=${2:?--weights needs a value}; shift ;;
    --args) args=${2:?--args needs a value}; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option '$1'" ;;
    *) [ -z "$run_id" ] || die "one RUN_ID only ('$run_id', then '$1')"; run_id=$1 ;;
    esac
    shift
done
case "$run_id" in '' | *[!0-9]*) usage >&2; die "RUN_ID: expected a run id (a number), got '$run_id'" ;; esac
command -v sqlite3 >/dev/null || die "no sqlite3 command (Debian package sqlite3)"
[ -f "$db" ] || die "$db: no such database file"
db=$(cd "$(dirname "$db")" && pwd)/$(basename "$db")
# the original read by URI: %, ? and # of its path escaped for the URI (and '
# doubled in uri_sql, for SQL strings); read-only, and immutable (no -wal or
# -shm made beside it) when no writer's -wal is there
uri=${db//%/%25}
uri=${uri//\?/%3f}
uri=${uri//#/%23}
uri_sql=${uri//\'/\'\'}
mode="mode=ro"
[ -e "$db-wal" ] || mode="mode=ro&immutable=1"
q() { sqlite3 -batch -noheader "file:$uri?$mode" "$1"; }

# ---- what the database recorded ----
row=$(q "SELECT status, code_rev, coalesce(code_dirty, -1), threads, config_hash,
                json_extract(config_json, '\$.command'), coalesce(table_id, ''),
                json_type(config_json, '\$.numeric_env'),
                coalesce(json_extract(config_json, '\$.numeric_env.openblas_coretype'), '')
         FROM runs WHERE id = $run_id") || die "$db: cannot read its runs (not a results database?)"
[ -n "$row" ] || die "$db: no run $run_id"
IFS='|' read -r status rev dirty threads chash command table has_env coretype <<<"$row"
[ "$command" = finetune ] || die "$db: run $run_id is a '$command' run; only fine-tuning runs are redone"
[ "$status" = ok ] || die "$db: run $run_id ended '$status', not 'ok': nothing to compare with"
case "$rev" in *[!0-9a-f]* | '') die "$db: run $run_id has no commit (code_rev '$rev')" ;; esac
[ "$dirty" = 0 ] || die "$db: run $run_id was made from uncommitted changes (code_dirty $dirty): no commit holds its code"
[ -n "$args" ] || args=$(q "SELECT args FROM run_keys WHERE config_hash = '$chash' LIMIT 1")
[ -n "$args" ] || die "$db: run $run_id has no recorded arguments (run_keys: run_all.sh records them; --args gives them)"

# the recorded arguments, with --data and --init replaced where asked
read -r -a argv <<<"$args"
for ((i = 0; i < ${#argv[@]} - 1; i++)); do
    case "${argv[$i]}" in
    --data) [ -n "$data" ] && argv[i + 1]=$data ;;
    --init) [ -n "$init" ] && argv[i + 1]=$init ;;
    esac
done

# ---- where it runs ----
if [ -z "$out" ]; then
    out=$(mktemp -d /tmp/moil_rerun_XXXXXX) || die "cannot make a folder under /tmp"
fi
mkdir -p "$out" || die "$out: cannot make the folder"
out=$(cd "$out" && pwd)
[ -e "$out/rerun.db" ] && die "$out/rerun.db exists: give another --out"
src=${src:-$out/src}
if [ -e "$src" ]; then
    have=$(git -C "$src" rev-parse HEAD 2>/dev/null) || die "$src: not a git checkout"
    [ "$have" = "$rev" ] || die "$src: holds commit $have, run $run_id was made by $rev"
    [ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ] || die "$src: has uncommitted changes"
    [ -x "$src/moil" ] || die "$src: no moil built there (make moil)"
else
    echo "rerun.sh: cloning $top at $rev into $src and building moil" >&2
    git clone -q "$top" "$src" || die "$src: git clone of $top failed"
    git -C "$src" checkout -q "$rev" || die "$src: no commit $rev in $top (git fetch it first)"
    make -C "$src" -j"$(nproc 2>/dev/null || echo 1)" moil >"$src/rerun-build.log" 2>&1 || die "make moil failed in $src (log: $src/rerun-build.log)"
fi

# the OpenBLAS core the run recorded (a run from before numeric_env: as now)
if [ -n "$has_env" ]; then
    if [ -n "$coretype" ]; then export OPENBLAS_CORETYPE=$coretype; else unset OPENBLAS_CORETYPE; fi
fi
echo "rerun.sh: run $run_id: ${OPENBLAS_CORETYPE:+OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE }moil finetune ${argv[*]} --threads $threads" >&2
table_opt=()
[ -n "$table" ] && table_opt=(--table "$table")
(cd "$top" && "$src/moil" finetune "${argv[@]}" --threads "$threads" --quiet --out "$out/model" \
    --db "$out/rerun.db" "${table_opt[@]}") >"$out/finetune.log" 2>&1 ||
    die "the rerun failed (log: $out/finetune.log)"
new=$(sqlite3 -batch -noheader "$out/rerun.db" "SELECT max(id) FROM runs WHERE status = 'ok'")
[ -n "$new" ] || die "$out/rerun.db: the rerun logged no finished run (log: $out/finetune.log)"

# ---- the comparison: original as o, rerun as n ----
cmp_sql() {
    sqlite3 -batch -noheader "$out/rerun.db" "ATTACH 'file:$uri_sql?$mode' AS o; $1"
}
config=$(cmp_sql "
    WITH a(j) AS (SELECT json_remove(config_json, '\$.data', '\$.init', '\$.numeric_env')
                  FROM o.runs WHERE id = $run_id),
         b(j) AS (SELECT json_remove(config_json, '\$.data', '\$.init', '\$.numeric_env')
                  FROM main.runs WHERE id = $new),
         ka AS (SELECT key, value FROM a, json_each(a.j)),
         kb AS (SELECT key, value FROM b, json_each(b.j))
    SELECT coalesce(group_concat(key, ','), '') FROM (
        SELECT coalesce(ka.key, kb.key) AS key FROM ka FULL JOIN kb ON ka.key = kb.key
        WHERE ka.value IS NOT kb.value ORDER BY 1)")
env=$(cmp_sql "
    SELECT coalesce(group_concat(a.key || ' ' || coalesce(a.value, 'none') || ' -> ' || coalesce(b.value, 'none'), '; '), '')
    FROM (SELECT key, value FROM o.runs, json_each(o.runs.config_json, '\$.numeric_env') WHERE o.runs.id = $run_id) AS a
    FULL JOIN (SELECT key, value FROM main.runs, json_each(main.runs.config_json, '\$.numeric_env')
               WHERE main.runs.id = $new) AS b ON a.key = b.key
    WHERE a.value IS NOT b.value")
# SAME/TOTAL: the two runs' rows of table $1 joined on the columns $2 (the
# first never NULL), counted over their union, a row the same when every
# column of $3 is; $4, when given, narrows both sides
same_total() {
    local on="" eq="" k c filter=${4:+ AND $4}
    for k in $2; do on="$on${on:+ AND }a.$k = b.$k"; done
    for c in $3; do eq="$eq a.$c IS b.$c AND"; done
    cmp_sql "
    WITH a AS (SELECT * FROM o.$1 WHERE run_id = $run_id$filter),
         b AS (SELECT * FROM main.$1 WHERE run_id = $new$filter)
    SELECT coalesce(sum($eq a.${2%% *} IS NOT NULL AND b.${2%% *} IS NOT NULL), 0) || '/' || count(*)
    FROM a FULL JOIN b ON $on"
}
metrics=$(same_total metrics "split name" "value nonfinite" "name NOT LIKE '%seconds'")
curves=$(same_total curves "name step" "value nonfinite")
items=$(same_total item_scores "split name" "item_set encoding scores")
[ -n "$metrics" ] && [ -n "$curves" ] && [ -n "$items" ] || die "comparing $db with $out/rerun.db failed"

wres=none
if [ -n "$weights" ]; then
    h_old=$("$src/moil" backbone hash "$weights" | sed -n 's/^weights_hash=//p') || true
    h_new=$("$src/moil" backbone hash "$out/model/model.safetensors" | sed -n 's/^weights_hash=//p') || true
    [ -n "$h_old" ] && [ -n "$h_new" ] || die "cannot hash $weights or $out/model/model.safetensors"
    if [ "$h_old" = "$h_new" ]; then wres="same $h_new"; else wres="differs $h_old -> $h_new"; fi
fi

same() { [ "${1%/*}" = "${1#*/}" ]; }
verdict=identical
[ -z "$config" ] || verdict=differs
same "$metrics" && same "$curves" && same "$items" || verdict=differs
case "$wres" in differs*) verdict=differs ;; esac

echo "run=$run_id"
echo "code_rev=$rev"
echo "rerun_db=$out/rerun.db"
if [ -n "$config" ]; then echo "config=differs: $config"; else echo "config=same"; fi
if [ -n "$env" ]; then echo "numeric_env=differs: $env"; else echo "numeric_env=same"; fi
echo "metrics=$metrics"
echo "curves=$curves"
echo "item_scores=$items"
echo "weights=$wres"
echo "verdict=$verdict"
[ "$verdict" = identical ]
