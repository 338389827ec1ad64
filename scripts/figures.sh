#!/bin/sh
# Draws the figures of the paper from rows of the results database only:
# sqlite3 selects each figure's rows into <out>/<figure>.dat (tab-separated,
# a '#' line naming the columns: exactly what is plotted) and gnuplot draws
# plots/<figure>.gp from it into <out>/<figure>.png (pngcairo) and .svg.
# Colours, markers and method names: plots/style.gp. Usage: --help.
set -eu

usage() {
    cat <<'USAGE'
usage: scripts/figures.sh [--db PATH] [--out DIR] [--data-only] [FIGURE...]

Draws the figures from the results database (default results/moil.db) into
DIR (default plots): <figure>.dat (the rows plotted), <figure>.png, .svg.
  fig1  fig1_approx_error: q/k/v distance to full tuning vs. step (curves
        wdist/<variant>/mean) with the Eckart-Young floor (metrics diag
        ey_floor_r<R>/mean, in fig1_ey_floor.dat)
  fig2  fig2_optimisation: validation metric (curves val/<metric>) vs. step
        and vs. wall time, full / adapter / lora / moil
  fig3  fig3_params: test metric vs. stored parameters (% of the backbone)
  fig4  fig4_ablations: MoIL student form, EMA rate, rank (test, test@ema)
  fig5  fig5_inference: time per example, as trained vs. merged (the latest
        `moil bench-infer` run)
  --data-only   write the .dat files only (no gnuplot)
Only runs with status ok count; a task's metric is its primary one (vqa
vqa_score, nlvr accuracy, retrieval recall_mean, caption cider_d); means and
sample sds are over the runs of one configuration (its seeds). A figure
without rows is skipped with a message naming the runs that would fill it.
Evaluations of a trained checkpoint (moil eval runs) never count.
USAGE
}

DB=results/moil.db
OUT=plots
DRAW=1
FIGS=
while [ $# -gt 0 ]; do
    case $1 in
        --db) [ $# -ge 2 ] || { echo "figures: --db needs a path" >&2; exit 2; }; DB=$2; shift 2 ;;
        --out) [ $# -ge 2 ] || { echo "figures: --out needs a folder" >&2; exit 2; }; OUT=$2; shift 2 ;;
        --data-only) DRAW=0; shift ;;
        -h|--help) usage; exit 0 ;;
        fig[1-5]) FIGS="$FIGS $1"; shift ;;
        *) echo "figures: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$FIGS" ] || FIGS="fig1 fig2 fig3 fig4 fig5"
[ -f "$DB" ] || { echo "figures: $DB: no such results database" >&2; exit 1; }
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

query() { sqlite3 -readonly -batch -noheader -separator "$TAB" "$DB" "$1"; }

# write_dat FILE HEADER SQL: the '#' header line, then the rows of SQL.
write_dat() {
    { printf '# %s\n' "$2"; query "$3"; } > "$1.tmp" || { rm -f "$1.tmp"; echo "figures: $DB: query for $1 failed" >&2; exit 1; }
    mv "$1.tmp" "$1"
}

has_rows() { grep -qv '^#' "$1"; }

# distinct FILE COLUMNS...: the distinct values of the columns (joined by
# ':') in the order they first appear, as one line of words.
distinct() {
    f=$1; shift
    awk -F "$TAB" -v cols="$*" '
        !/^#/ { n = split(cols, c, " "); k = $c[1]; for (i = 2; i <= n; i++) k = k ":" $c[i]
                if (!(k in seen)) { seen[k] = 1; out = out " " k } }
        END { print substr(out, 2) }' "$f"
}

# draw FIGURE NAME=VALUE...: plots/FIGURE.gp with those gnuplot variables.
draw() {
    fig=$1; shift
    [ "$DRAW" = 1 ] || { echo "figures: $OUT/$fig.dat"; return 0; }
    args="outbase='$OUT/$fig'; datafile='$OUT/$fig.dat'"
    for kv in "$@"; do args="$args; ${kv%%=*}='${kv#*=}'"; done
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
    if ! has_rows "$OUT/fig1_approx_error.dat"; then
        skip fig1 "no curves wdist/<variant>/mean: run 'moil finetune --method full' of a task, then --method lora, dora and moil of the same task and schedule with --reference <the full run's model.safetensors>"
        return 0
    fi
    draw fig1_approx_error "floorfile=$OUT/fig1_ey_floor.dat" "tasks=$(distinct "$OUT/fig1_approx_error.dat" 1)" \
        "series=$(distinct "$OUT/fig1_approx_error.dat" 2 3)" "ranks=$(distinct "$OUT/fig1_ey_floor.dat" 2)"
}

fig2() {
    write_dat "$OUT/fig2_optimisation.dat" "task${TAB}method${TAB}step${TAB}seconds${TAB}runs${TAB}mean${TAB}sd" \
        "WITH $PRIMARY,
         pts AS (SELECT r.id AS run_id, r.task, r.method, $CFG AS cfg, c.step, c.value AS v,
                        coalesce((SELECT value FROM metrics WHERE run_id = r.id AND split = 'train' AND name = 'seconds'),
                                 r.wall_s) /
                        coalesce((SELECT value FROM metrics WHERE run_id = r.id AND split = 'train' AND name = 'steps_done'),
                                 json_extract(r.config_json, '\$.steps')) AS s_per_step
                 FROM runs AS r JOIN task_metric AS p ON p.task = r.task
                 JOIN curves AS c ON c.run_id = r.id AND c.name = 'val/' || p.metric
                 WHERE r.status = 'ok' AND $TRAINED AND r.method IN ('full', 'adapter', 'lora', 'moil') AND c.value IS NOT NULL),
         $PICK
         SELECT task, method, step, avg(step * s_per_step), $MEAN_SD
         FROM sel GROUP BY task, method, step ORDER BY $TASK_RANK, task, $METHOD_RANK, method, step;"
    if ! has_rows "$OUT/fig2_optimisation.dat"; then
        skip fig2 "no validation curves: run 'moil finetune --method full|adapter|lora|moil --eval-every N' of a task"
        return 0
    fi
    draw fig2_optimisation "tasks=$(distinct "$OUT/fig2_optimisation.dat" 1)" \
        "methods=$(distinct "$OUT/fig2_optimisation.dat" 2)"
}

fig3() {
    write_dat "$OUT/fig3_params.dat" "task${TAB}method${TAB}first_run${TAB}stored_pct${TAB}runs${TAB}mean${TAB}sd" \
        "WITH $PRIMARY,
         fin AS (SELECT r.id, r.task, r.method, $CFG AS cfg, 100.0 * r.params_stored / r.params_backbone AS pct,
                        m.value AS v
                 FROM runs AS r JOIN task_metric AS p ON p.task = r.task
                 JOIN metrics AS m ON m.run_id = r.id AND m.split = 'test' AND m.name = p.metric
                 WHERE r.status = 'ok' AND $TRAINED AND m.value IS NOT NULL AND r.params_stored > 0 AND r.params_backbone > 0
                   AND json_extract(r.config_json, '$.init_hash') IS NOT 'random')
         SELECT task, method, min(id), avg(pct), $MEAN_SD
         FROM fin GROUP BY task, method, cfg ORDER BY $TASK_RANK, task, $METHOD_RANK, method, min(id);"
    if ! has_rows "$OUT/fig3_params.dat"; then
        skip fig3 "no test metrics: run 'moil finetune --method M' for the methods (experiments/main.exp)"
        return 0
    fi
    draw fig3_params "tasks=$(distinct "$OUT/fig3_params.dat" 1)" "methods=$(distinct "$OUT/fig3_params.dat" 2)"
}

fig4() {
    o="json_extract(r.config_json, '\$.method_options"
    write_dat "$OUT/fig4_ablations.dat" \
        "panel${TAB}task${TAB}method${TAB}variant${TAB}x${TAB}x_label${TAB}runs${TAB}mean${TAB}sd" \
        "WITH $PRIMARY,
         fin AS (SELECT r.id, r.task, r.method, r.model, m.split, m.value AS v, $o.student') AS student,
                        $o.momentum') AS mom, $o.rank') AS rank, $o.rank_lora') AS rl, $o.rank_adapter') AS ra,
                        $o.targets') = 'qkv' AND $o.imitation_scale') = 1 AND $o.alpha') = 16
                          AND $o.rslora') = 0 AND $o.pissa') = 0 AND $o.lora_plus') = 1 AS usual,
                        ifnull(json_extract(r.config_json, '\$.steps'), 0) AS steps,
                        ifnull(json_extract(r.config_json, '\$.eval_every'), 0) AS ev,
                        ifnull(json_extract(r.config_json, '\$.lr'), 0) AS lr
                 FROM runs AS r JOIN task_metric AS p ON p.task = r.task
                 JOIN metrics AS m ON m.run_id = r.id AND m.split IN ('test', 'test@ema') AND m.name = p.metric
                 WHERE r.status = 'ok' AND $TRAINED AND r.method IN ('lora', 'moil') AND m.value IS NOT NULL),
         -- each method's usual setting (model, length, evaluation, learning
         -- rate: the one most of its runs share), so the other models, the
         -- length and learning-rate sweeps and the figure runs stay out
         sched AS (SELECT task, method, model, steps, ev, lr FROM
                   (SELECT task, method, model, steps, ev, lr,
                           row_number() OVER (PARTITION BY task, method ORDER BY count(*) DESC, max(id) DESC) AS k
                    FROM fin WHERE usual GROUP BY task, method, model, steps, ev, lr) WHERE k = 1),
         base AS (SELECT fin.* FROM fin JOIN sched USING (task, method, model, steps, ev, lr) WHERE usual),
         pts AS (
             SELECT 'student' AS panel, task, method, 'student' AS variant,
                    CASE student WHEN 'hybrid' THEN 1 WHEN 'lora' THEN 2 ELSE 3 END AS x,
                    CASE student WHEN 'hybrid' THEN 'hybrid' WHEN 'lora' THEN 'LoRA only' ELSE 'adapter only' END AS label, v
             FROM base WHERE method = 'moil' AND split = 'test' AND mom < 0 AND rl = 16 AND ra = 16
             UNION ALL
             SELECT 'momentum', task, method, CASE split WHEN 'test' THEN 'student' ELSE 'ema' END,
                    dense_rank() OVER (PARTITION BY task ORDER BY CASE WHEN mom < 0 THEN 2 ELSE mom END),
                    CASE WHEN mom < 0 THEN 'auto' ELSE printf('%g', mom) END, v
             FROM base WHERE method = 'moil' AND student = 'hybrid' AND rl = 16 AND ra = 16
             UNION ALL
             SELECT 'rank', task, method, CASE method WHEN 'lora' THEN 'merged' ELSE 'student' END,
                    CASE method WHEN 'lora' THEN rank ELSE rl END, CASE method WHEN 'lora' THEN rank ELSE rl END, v
             FROM base WHERE split = 'test'
                        AND (method = 'lora' OR (student = 'hybrid' AND mom < 0 AND rl = ra))),
         grp AS (SELECT panel, task, method, variant, x, label, $MEAN_SD FROM pts
                 GROUP BY panel, task, method, variant, x)
         SELECT grp.* FROM grp
         WHERE (SELECT count(DISTINCT x) FROM pts WHERE pts.panel = grp.panel AND pts.task = grp.task) > 1
         ORDER BY CASE panel WHEN 'student' THEN 1 WHEN 'momentum' THEN 2 ELSE 3 END, $TASK_RANK, task,
                  $METHOD_RANK, method, variant DESC, x;"
    f=$OUT/fig4_ablations.dat
    panels=$(distinct "$f" 1)
    for p in student momentum rank; do
        case " $panels " in *" $p "*) continue ;; esac
        case $p in
            student) what="moil runs with --student hybrid, lora and adapter (experiments/ablation.exp)" ;;
            momentum) what="moil runs with two or more --momentum values (experiments/sweep_momentum.exp)" ;;
            rank) what="lora runs with two or more --rank values or moil runs with --rank-lora = --rank-adapter (experiments/sweep_rank.exp)" ;;
        esac
        skip "fig4 panel $p" "needs $what"
    done
    [ -n "$panels" ] || return 0
    set -- "panels=$panels"
    for p in $panels; do
        set -- "$@" "series_$p=$(awk -F "$TAB" -v p="$p" '!/^#/ && $1 == p' "$f" | distinct /dev/stdin 2 3 4)" \
            "xtics_$p=$(awk -F "$TAB" -v p="$p" '!/^#/ && $1 == p && !(($5) in seen) { seen[$5] = 1
                        out = out (out == "" ? "" : ", ") "\"" $6 "\" " $5 } END { print "(" out ")" }' "$f")"
    done
    draw fig4_ablations "$@"
}

fig5() {
    write_dat "$OUT/fig5_inference.dat" "method${TAB}form${TAB}ms_per_example${TAB}run_id" \
        "WITH $(cat "$SCRIPT_DIR/inference_rows.sql")
         SELECT method, form, ms, run_id FROM infer ORDER BY $METHOD_RANK, method, form;"
    if ! has_rows "$OUT/fig5_inference.dat"; then
        skip fig5 "no inference timings: run 'moil bench-infer --init <backbone.safetensors>' (a run with table_id 'inference')"
        return 0
    fi
    draw fig5_inference "methods=$(distinct "$OUT/fig5_inference.dat" 1)"
}

for fig in $FIGS; do "$fig"; done
