#!/bin/sh
# Draws the figures of the paper from rows of the results database only:
# sqlite3 selects each figure's rows into <out>/<figure>.dat (tab-separated,
# a '#' line naming the columns: exactly what is plotted), the figure's
# caption and the ids of the runs it draws into <out>/<figure>.caption, and
# gnuplot draws plots/<figure>.gp from the rows into <out>/<figure>.png
# (pngcairo) and .svg. Colours, markers and method names: plots/style.gp.
# Usage: --help.
set -eu

usage() {
    cat <<'USAGE'
usage: scripts/figures.sh [--db PATH] [--out DIR] [--profile P] [--data-only] [FIGURE...]

Draws the figures from the results database (default results/moil.db) into
DIR (default plots): <figure>.dat (the rows plotted), <figure>.caption (line
1 the caption, line 2 the ids of the runs drawn), <figure>.png, .svg.
  fig1  fig1_approx_error: q/k/v distance to full tuning vs. step (curves
        wdist/<variant>/mean) with the Eckart-Young floor (metrics diag
        ey_floor_r<R>/mean, in fig1_ey_floor.dat)
  fig2  fig2_optimisation: validation metric (curves val/<metric>) vs. step
        and vs. wall time, full / adapter / lora / moil
  fig3  fig3_params: every row of table main in profile P (default quick):
        its test metric per column vs. its stored parameters (% of the
        backbone), the table's numbers
  fig4  fig4_ablations: the rows of tables ablation (MoIL student form),
        sweep_momentum (EMA rate, student and EMA teacher) and sweep_rank
        (LoRA, rsLoRA, MoIL) in profile P, the tables' numbers
  fig5  fig5_inference: time per example, as trained vs. merged (the latest
        `moil bench-infer` run)
  --data-only   write the .dat and .caption files only (no gnuplot)
Only runs with status ok count. Figures 1 and 2: a task's metric is its
primary one (vqa vqa_score, nlvr accuracy, retrieval recall_mean, caption
cider_d), means over the runs of one configuration (its seeds); figures 3
and 4: the tables' cells (mean and sample sd over seeds, as the rendered
tables print them). A figure without rows is skipped with a message naming
the runs that would fill it. Evaluations of a trained checkpoint (moil eval
runs) never count.
USAGE
}

DB=results/moil.db
OUT=plots
PROFILE=quick
DRAW=1
FIGS=
while [ $# -gt 0 ]; do
    case $1 in
        --db) [ $# -ge 2 ] || { echo "figures: --db needs a path" >&2; exit 2; }; DB=$2; shift 2 ;;
        --out) [ $# -ge 2 ] || { echo "figures: --out needs a folder" >&2; exit 2; }; OUT=$2; shift 2 ;;
        --profile) [ $# -ge 2 ] || { echo "figures: --profile needs a name" >&2; exit 2; }; PROFILE=$2; shift 2 ;;
        --data-only) DRAW=0; shift ;;
        -h|--help) usage; exit 0 ;;
        fig[1-5]) FIGS="$FIGS $1"; shift ;;
        *) echo "figures: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$FIGS" ] || FIGS="fig1 fig2 fig3 fig4 fig5"
[ -f "$DB" ] || { echo "figures: $DB: no such results database" >&2; exit 1; }
case $PROFILE in '' | *[!A-Za-z0-9_-]*) echo "figures: --profile '$PROFILE': letters, digits, _ and - only" >&2; exit 2 ;; esac
mkdir -p "$OUT"
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
GP_DIR=$(cd "$SCRIPT_DIR/../plots" && pwd)
TAB=$(printf '\t')

# Rows come in the tables' order of tasks and methods (others last).
TASK_ORDER="vqa nlvr retrieval caption"
METHOD_ORDER="full heads bitfit prompt adapter lora dora moil"
order_of() { echo "CASE instr(' $1 ', ' ' || $2 || ' ') WHEN 0 THEN 1000 ELSE instr(' $1 ', ' ' || $2 || ' ') END"; }
TASK_RANK=$(order_of "$TASK_ORDER" task)
METHOD_RANK=$(order_of "$METHOD_ORDER" method)

# The metric a task is judged by (its primary metric, tasks/task_<name>.c).
PRIMARY="task_metric (task, metric) AS (VALUES ('vqa', 'vqa_score'), ('nlvr', 'accuracy'),
                                           ('retrieval', 'recall_mean'), ('caption', 'cider_d'))"
# A run that trained (not an evaluation of a trained checkpoint, moil eval).
TRAINED="json_extract(r.config_json, '\$.command') IS NOT 'eval'"
# A run's configuration without its seed: the seeds of one configuration.
CFG="json_remove(r.config_json, '\$.seed')"
# Count, mean and sample sd (0 for one run) of column v over a group.
MEAN_SD="count(v), avg(v),
         CASE WHEN count(v) > 1 THEN sqrt(max(0.0, (sum(v * v) - sum(v) * sum(v) / count(v)) / (count(v) - 1)))
         ELSE 0.0 END"
# From a CTE pts (run_id, task, method, cfg, ...), the CTE sel of the rows of
# one configuration per task and method: the one with the most runs in pts
# (ties: the newest run).
PICK="cfgs AS (SELECT task, method, cfg, count(DISTINCT run_id) AS n, max(run_id) AS last
               FROM pts GROUP BY task, method, cfg),
      pick AS (SELECT task, method, cfg FROM
               (SELECT *, row_number() OVER (PARTITION BY task, method ORDER BY n DESC, last DESC) AS k FROM cfgs)
               WHERE k = 1),
      sel AS (SELECT pts.* FROM pts JOIN pick USING (task, method, cfg))"
# The CTE cells of the cells of tables ($1: a SQL list of table ids) in the
# profile, as the rendered tables print them (the view table_summary): table_id,
# row, row_label, split_suffix, col, col_label, metric, n, mean, sd (0 for one
# seed), run_ids (the cell's runs, comma-separated) and first_run (the row's
# first run, whose config the row shares but for the seed).
cells_of() {
    echo "cells AS (SELECT s.table_id, s.row, s.row_label, s.split_suffix, s.col, s.col_label, k.metric, s.n, s.mean,
                           ifnull(s.sd, 0.0) AS sd,
                           (SELECT group_concat(run_id, ',') FROM
                               (SELECT run_id FROM table_values AS v WHERE v.table_id = s.table_id
                                AND v.profile = s.profile AND v.row = s.row AND v.col = s.col ORDER BY run_id)) AS run_ids,
                           (SELECT min(run_id) FROM table_values AS v WHERE v.table_id = s.table_id
                            AND v.profile = s.profile AND v.row = s.row) AS first_run
                    FROM table_summary AS s JOIN table_columns AS k ON k.table_id = s.table_id AND k.col = s.col
                    WHERE s.table_id IN ($1) AND s.profile = '$PROFILE' AND s.n > 0)"
}

# sqlite3 only reads (query_only), and leaves the file as it was. A read-only
# connection cannot remove the -wal and -shm files it creates beside a WAL
# database, so the file is opened read-write unless a -wal is there already
# (another process's), as the moil commands open it (results/db/db.c,
# db_copy_flags).
query() {
    if [ -e "$DB-wal" ]; then ro=-readonly; else ro=; fi
    sqlite3 $ro -cmd 'PRAGMA query_only = 1' -batch -noheader -separator "$TAB" "$DB" "$1"
}

# write_dat FILE HEADER SQL: the '#' header line, then the rows of SQL.
write_dat() {
    { printf '# %s\n' "$2"; query "$3"; } > "$1.tmp" || { rm -f "$1.tmp"; echo "figures: $DB: query for $1 failed" >&2; exit 1; }
    mv "$1.tmp" "$1"
}

# caption FIGURE TEXT SQL: <out>/FIGURE.caption, TEXT then the run ids SQL
# selects (one per row, in order) on one line, space-separated.
caption() {
    { printf '%s\n' "$2"; query "$3" | paste -sd ' ' -; } > "$OUT/$1.caption.tmp" ||
        { rm -f "$OUT/$1.caption.tmp"; echo "figures: $DB: query for $1.caption failed" >&2; exit 1; }
    mv "$OUT/$1.caption.tmp" "$OUT/$1.caption"
}

# The distinct run ids of column $2 (comma-separated lists) of data file $1,
# as a SQL query giving them one per row, in order.
dat_run_ids() {
    ids=$(awk -F "$TAB" -v c="$2" '!/^#/ { n = split($c, a, ","); for (i = 1; i <= n; i++) print a[i] }' "$1" |
          sort -n -u | paste -sd ',' -)
    echo "SELECT id FROM runs WHERE id IN (${ids:-0}) ORDER BY id"
}

has_rows() { grep -qv '^#' "$1"; }

# distinct FILE COLUMNS...: the distinct values of the columns (joined by
# ':') in the order they first appear, as one line of words; a space inside
# a value becomes '~' (plots/style.gp's unspace() turns it back).
distinct() {
    f=$1; shift
    awk -F "$TAB" -v cols="$*" '
        !/^#/ { n = split(cols, c, " "); k = $c[1]; for (i = 2; i <= n; i++) k = k ":" $c[i]
                gsub(/ /, "~", k); if (!(k in seen)) { seen[k] = 1; out = out " " k } }
        END { print substr(out, 2) }' "$f"
}

# draw FIGURE NAME=VALUE...: plots/FIGURE.gp with those gnuplot variables
# (each value a gnuplot string: a quote in it doubled).
draw() {
    fig=$1; shift
    [ "$DRAW" = 1 ] || { echo "figures: $OUT/$fig.dat"; return 0; }
    args="outbase='$OUT/$fig'; datafile='$OUT/$fig.dat'"
    for kv in "$@"; do
        v=$(printf '%s' "${kv#*=}" | sed "s/'/''/g")
        args="$args; ${kv%%=*}='$v'"
    done
    gnuplot -e "$args" "$GP_DIR/$fig.gp" || { echo "figures: gnuplot failed on $GP_DIR/$fig.gp" >&2; exit 1; }
    echo "figures: $OUT/$fig.png $OUT/$fig.svg (rows: $OUT/$fig.dat)"
}

skip() { echo "figures: $1 skipped: $2"; }

fig1() {
    pts="pts AS (SELECT r.id AS run_id, r.task, r.method, $CFG AS cfg, c.name, c.step, c.value AS v
                 FROM runs AS r JOIN curves AS c ON c.run_id = r.id
                 WHERE r.status = 'ok' AND $TRAINED AND r.method IN ('lora', 'dora', 'moil')
                   AND c.name GLOB 'wdist/*/mean' AND c.value IS NOT NULL)"
    write_dat "$OUT/fig1_approx_error.dat" "task${TAB}method${TAB}variant${TAB}step${TAB}runs${TAB}wdist_mean" \
        "WITH $pts, $PICK
         SELECT task, method, substr(name, 7, length(name) - 11) AS variant, step, count(v), avg(v)
         FROM sel GROUP BY task, method, variant, step ORDER BY $TASK_RANK, task, $METHOD_RANK, method, variant, step;"
    write_dat "$OUT/fig1_ey_floor.dat" "task${TAB}rank${TAB}runs${TAB}floor_mean" \
        "WITH $pts, $PICK
         SELECT task, CAST(substr(m.name, 11, instr(m.name, '/') - 11) AS INTEGER) AS rank, count(m.value), avg(m.value)
         FROM (SELECT DISTINCT task, run_id FROM sel) AS s
         JOIN metrics AS m ON m.run_id = s.run_id AND m.split = 'diag' AND m.name GLOB 'ey_floor_r*/mean'
         WHERE m.value IS NOT NULL GROUP BY task, rank ORDER BY $TASK_RANK, task, rank;"
    caption fig1_approx_error "Approximation error: the relative distance of each method's adapted q/k/v weights to those of full tuning during training (1: the pretrained weights W0, 0: full tuning's), mean over layers and over the runs of one configuration per task and method (the one with the most runs logging it: the figure runs of run_all.sh, made with --reference, the full-tuning figure run's weights). Dashed: the Eckart-Young floor of the rank, the closest any rank-r update comes." \
        "WITH $pts, $PICK SELECT DISTINCT run_id FROM sel ORDER BY run_id"
    if ! has_rows "$OUT/fig1_approx_error.dat"; then
        skip fig1 "no curves wdist/<variant>/mean: run 'moil finetune --method full' of a task, then --method lora, dora and moil of the same task and schedule with --reference <the full run's model.safetensors>"
        return 0
    fi
    draw fig1_approx_error "floorfile=$OUT/fig1_ey_floor.dat" "tasks=$(distinct "$OUT/fig1_approx_error.dat" 1)" \
        "series=$(distinct "$OUT/fig1_approx_error.dat" 2 3)" "ranks=$(distinct "$OUT/fig1_ey_floor.dat" 2)"
}

fig2() {
    pts="pts AS (SELECT r.id AS run_id, r.task, r.method, $CFG AS cfg, c.step, c.value AS v,
                        coalesce((SELECT value FROM metrics WHERE run_id = r.id AND split = 'train' AND name = 'seconds'),
                                 r.wall_s) /
                        coalesce((SELECT value FROM metrics WHERE run_id = r.id AND split = 'train' AND name = 'steps_done'),
                                 json_extract(r.config_json, '\$.steps')) AS s_per_step
                 FROM runs AS r JOIN task_metric AS p ON p.task = r.task
                 JOIN curves AS c ON c.run_id = r.id AND c.name = 'val/' || p.metric
                 WHERE r.status = 'ok' AND $TRAINED AND r.method IN ('full', 'adapter', 'lora', 'moil') AND c.value IS NOT NULL)"
    write_dat "$OUT/fig2_optimisation.dat" "task${TAB}method${TAB}step${TAB}seconds${TAB}runs${TAB}mean${TAB}sd" \
        "WITH $PRIMARY, $pts, $PICK
         SELECT task, method, step, avg(step * s_per_step), $MEAN_SD
         FROM sel GROUP BY task, method, step ORDER BY $TASK_RANK, task, $METHOD_RANK, method, step;"
    caption fig2_optimisation "Optimisation: the task's primary metric on the validation split during training, against the step (top) and against wall time (bottom: step x the run's seconds per step), mean over the runs of one configuration per task and method (the one with the most runs logging it: the figure runs of run_all.sh, made with --eval-every)." \
        "WITH $PRIMARY, $pts, $PICK SELECT DISTINCT run_id FROM sel ORDER BY run_id"
    if ! has_rows "$OUT/fig2_optimisation.dat"; then
        skip fig2 "no validation curves: run 'moil finetune --method full|adapter|lora|moil --eval-every N' of a task"
        return 0
    fi
    draw fig2_optimisation "tasks=$(distinct "$OUT/fig2_optimisation.dat" 1)" \
        "methods=$(distinct "$OUT/fig2_optimisation.dat" 2)"
}

fig3() {
    f=$OUT/fig3_params.dat
    write_dat "$f" \
        "col${TAB}col_label${TAB}metric${TAB}row${TAB}row_label${TAB}method${TAB}stored_pct${TAB}x${TAB}n${TAB}mean${TAB}sd${TAB}run_ids" \
        "WITH $(cells_of "'main'"),
         pts AS (SELECT c.*, r.method, p.stored_pct,
                        row_number() OVER (PARTITION BY c.col, round(p.stored_pct, 1) ORDER BY c.row) - 1 AS k,
                        count(*) OVER (PARTITION BY c.col, round(p.stored_pct, 1)) AS m
                 FROM cells AS c JOIN runs AS r ON r.id = c.first_run
                 JOIN table_params AS p ON p.table_id = c.table_id AND p.profile = '$PROFILE' AND p.row = c.row
                 WHERE p.stored_pct IS NOT NULL)
         SELECT col, col_label, metric, row, row_label, method, stored_pct, stored_pct * exp(0.04 * (k - (m - 1) / 2.0)),
                n, mean, sd, run_ids
         FROM pts ORDER BY col, row;"
    caption fig3_params "Parameter efficiency: every row of table main (profile $PROFILE), one marker each: its test score per column against the parameters it stores per task (% of the backbone, log scale; rows storing the same share drawn side by side), mean +- sd over its seeds, the numbers of the table." \
        "$(dat_run_ids "$f" 12)"
    if ! has_rows "$f"; then
        skip fig3 "no cells of table main in profile $PROFILE: run './run_all.sh --profile $PROFILE --table main'"
        return 0
    fi
    draw fig3_params "cols=$(distinct "$f" 1)" "col_labels=$(distinct "$f" 1 2 3)" "rows=$(distinct "$f" 4)" \
        "row_keys=$(distinct "$f" 4 6 5)"
}

fig4() {
    o="json_extract(r.config_json, '\$.method_options"
    f=$OUT/fig4_ablations.dat
    write_dat "$f" \
        "panel${TAB}table${TAB}row${TAB}row_label${TAB}col_label${TAB}method${TAB}variant${TAB}x${TAB}x_label${TAB}n${TAB}mean${TAB}sd${TAB}run_ids" \
        "WITH $(cells_of "'ablation', 'sweep_momentum', 'sweep_rank'"),
         cfg AS (SELECT c.*, r.method, $o.student') AS student, $o.momentum') AS mom, $o.rank') AS rank,
                        $o.rank_lora') AS rl, $o.targets') AS targets, $o.rslora') AS rslora
                 FROM cells AS c JOIN runs AS r ON r.id = c.first_run WHERE c.col = 0),
         -- the ablation's rows that change the student only; every row of the sweeps
         pts AS (
             SELECT 'student' AS panel, cfg.*, 'student' AS variant,
                    CASE student WHEN 'hybrid' THEN 1 WHEN 'lora' THEN 2 ELSE 3 END AS x,
                    CASE student WHEN 'hybrid' THEN 'hybrid' WHEN 'lora' THEN 'LoRA only' ELSE 'adapter only' END AS label
             FROM cfg WHERE table_id = 'ablation' AND method = 'moil' AND split_suffix = '' AND mom < 0
                        AND targets IN ('qkv', 'q,k,v')
             UNION ALL
             SELECT 'momentum', cfg.*, CASE split_suffix WHEN '' THEN 'student' ELSE substr(split_suffix, 2) END,
                    dense_rank() OVER (ORDER BY CASE WHEN mom < 0 THEN 2 ELSE mom END),
                    CASE WHEN mom < 0 THEN 'auto' ELSE printf('%g', mom) END
             FROM cfg WHERE table_id = 'sweep_momentum'
             UNION ALL
             SELECT 'rank', cfg.*,
                    CASE WHEN method = 'lora' AND rslora = 1 THEN 'rslora' WHEN method = 'lora' THEN 'merged'
                         ELSE 'student' END,
                    CASE method WHEN 'lora' THEN rank ELSE rl END, CASE method WHEN 'lora' THEN rank ELSE rl END
             FROM cfg WHERE table_id = 'sweep_rank' AND split_suffix = '')
         SELECT panel, table_id, row, row_label, col_label, method, variant, x, label, n, mean, sd, run_ids FROM pts
         WHERE (SELECT count(DISTINCT x) FROM pts AS q WHERE q.panel = pts.panel) > 1
         ORDER BY CASE panel WHEN 'student' THEN 1 WHEN 'momentum' THEN 2 ELSE 3 END, $METHOD_RANK, method,
                  variant DESC, x;"
    caption fig4_ablations "Ablations (profile $PROFILE), one marker per table row: MoIL's student form (the rows of table ablation that change only the student), MoIL's EMA rate m (table sweep_momentum: the student and the EMA teacher) and the rank (table sweep_rank: LoRA's r, rsLoRA's apart, MoIL's student ranks r_l = r_a); test score, mean +- sd over the seeds, the numbers of the tables." \
        "$(dat_run_ids "$f" 13)"
    panels=$(distinct "$f" 1)
    for p in student momentum rank; do
        case " $panels " in *" $p "*) continue ;; esac
        case $p in
            student) what="the rows of table ablation with --student hybrid, lora and adapter (experiments/ablation.exp)" ;;
            momentum) what="two or more rows of table sweep_momentum (experiments/sweep_momentum.exp)" ;;
            rank) what="two or more rows of table sweep_rank (experiments/sweep_rank.exp)" ;;
        esac
        skip "fig4 panel $p" "needs $what in profile $PROFILE"
    done
    [ -n "$panels" ] || return 0
    set -- "panels=$panels"
    for p in $panels; do
        set -- "$@" "series_$p=$(awk -F "$TAB" -v p="$p" '!/^#/ && $1 == p' "$f" | distinct /dev/stdin 6 7)" \
            "ylabel_$p=$(awk -F "$TAB" -v p="$p" '!/^#/ && $1 == p { print $5; exit }' "$f")" \
            "xtics_$p=$(awk -F "$TAB" -v p="$p" '!/^#/ && $1 == p && !(($8) in seen) { seen[$8] = 1
                        out = out (out == "" ? "" : ", ") "\"" $9 "\" " $8 } END { print "(" out ")" }' "$f")"
    done
    draw fig4_ablations "$@"
}

fig5() {
    write_dat "$OUT/fig5_inference.dat" "method${TAB}form${TAB}ms_per_example${TAB}run_id" \
        "WITH $(cat "$SCRIPT_DIR/inference_rows.sql")
         SELECT method, form, ms, run_id FROM infer ORDER BY $METHOD_RANK, method, form;"
    caption fig5_inference "Inference cost: forward time per example of each method's evaluation forms, as trained (its hooks attached) and merged (the update folded into plain weights, for the methods that can), from the latest moil bench-infer run." \
        "WITH $(cat "$SCRIPT_DIR/inference_rows.sql") SELECT id FROM last WHERE id IS NOT NULL"
    if ! has_rows "$OUT/fig5_inference.dat"; then
        skip fig5 "no inference timings: run 'moil bench-infer --init <backbone.safetensors>' (a run with table_id 'inference')"
        return 0
    fi
    draw fig5_inference "methods=$(distinct "$OUT/fig5_inference.dat" 1)"
}

for fig in $FIGS; do "$fig"; done
