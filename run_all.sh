#!/usr/bin/env bash
# run_all.sh: reproduce the tables of experiments/ (one <id>.exp per table).
# Builds if needed, generates the profile's dataset, pretrains its backbones
# (one per model the tables use; the VinVL-style one after its region stage;
# one the profile ships, a `backbone` line of profiles.conf, is installed
# instead: moil backbone install checks its weights hash, every run),
# runs every fine-tuning run that has no 'ok' row in the results database
# made from the same backbone and dataset (moil table plan decides; moil
# finetune itself skips a finished config),
# then renders the tables (moil table render; table 6, inference cost, by
# moil table render --table inference; the claims of claims.conf tested on
# them, moil table claims), the figures and the HTML report (make
# report PROFILE=<profile> FIG_DB=<its database>, if that target exists: the
# figures in plots/ for quick, plots/<profile>/ otherwise, then moil report into
# <work>/results/report/<profile>.html). Every step is resumable: rerunning
# does only what is missing, and a run killed mid-way (a stale 'running' row)
# is redone.
set -u
cd "$(dirname "$0")" || exit 1

usage() {
    cat <<'EOF'
usage: run_all.sh [--profile quick|full] [--table ID]... [--jobs N] [--force]
                  [--list] [--dry-run] [--prepare] [--db PATH] [--work DIR]
                  [--experiments DIR] [--no-make]

  --profile P    quick (default: every table at reduced scale, one seed) or full
                 (>= 3 seeds); profiles in experiments/profiles.conf
  --table ID     only this table (repeatable; default every experiments/*.exp)
  --jobs N       fine-tuning runs at a time (default: the number of cores), each
                 single-threaded (pretraining, alone, gets N threads):
                 on 2 cores two 1-thread runs beat one 2-thread run
  --force        redo the fine-tuning runs even if they finished
  --list         print one self-contained command per missing run, each logging
                 to its own shard database results/shards/<key>.db (for GNU
                 parallel or a Slurm array; fold them in with moil db merge)
  --dry-run      print what would run, run nothing (records the table layouts)
  --prepare      only generate the dataset and pretrain (or install) the backbones
  --db PATH      results database (default <work>/results/moil.db)
  --work DIR     root of datasets/data, runs, results (default .)
  --experiments DIR  table definitions (default experiments)
  --no-make      do not build with make, nor run make report (figures, report)

Ends with name=value lines: runs, ran, failed, skipped, seconds.
EOF
}

profile=quick jobs=$(nproc 2>/dev/null || echo 1) force=0 list=0 dry=0 prepare=0 use_make=1
db="" work=. exps=experiments
tables=()
while [ $# -gt 0 ]; do
    case "$1" in
    --profile) profile=${2:?--profile needs a value}; shift ;;
    --table) tables+=(--table "${2:?--table needs a value}"); shift ;;
    --jobs) jobs=${2:?--jobs needs a value}; shift ;;
    --db) db=${2:?--db needs a value}; shift ;;
    --work) work=${2:?--work needs a value}; shift ;;
    --experiments) exps=${2:?--experiments needs a value}; shift ;;
    --force) force=1 ;;
    --list) list=1 ;;
    --dry-run) dry=1 ;;
    --prepare) prepare=1 ;;
    --no-make) use_make=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run_all.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
case "$jobs" in '' | *[!0-9]* | 0) echo "run_all.sh: --jobs $jobs: expected a positive number" >&2; exit 2 ;; esac
if [ "$work" = . ]; then root=""; else root="$work/"; fi
db=${db:-${root}results/moil.db}
MOIL=${MOIL:-./moil}
t_start=$(date +%s)

die() { echo "run_all.sh: $*" >&2; exit 1; }
say() { [ "$list" = 1 ] && return; echo "$@"; }

# make, one at a time in this tree: two run_all.sh started together (two
# tables at once) would otherwise build the same files at the same time
# (flock: util-linux, on every Debian system)
make_locked() { flock .make.lock make "$@"; }
if [ "$use_make" = 1 ] && [ "$list" = 0 ] && [ "$dry" = 0 ]; then
    make_locked -s all || die "the build failed (make)"
fi
[ -x "$MOIL" ] || die "$MOIL not found: build with make (or set MOIL)"

# A run left 'running' by a process that is gone (kill -9, a crash, a reboot)
# is marked 'killed' here, so the plan counts it as missing and redoes it.
if [ -f "$db" ] && [ "$dry" = 0 ] && [ "$list" = 0 ]; then
    fixed=$("$MOIL" db check --db "$db" --fix 2>&1 | sed -n 's/^fixed=//p')
    [ "${fixed:-0}" -gt 0 ] && say "stale runs marked killed (will be redone): $fixed"
fi

# The plan: the dataset, the backbones and every table cell's run, done or todo.
make_plan() {
    plan=$("$MOIL" table plan --profile "$profile" "${tables[@]}" --experiments "$exps" --work "$work" --db "$db") ||
        die "moil table plan failed"
}
make_plan
dataset=$(printf '%s\n' "$plan" | awk -F'\t' '$1 == "dataset" { print $2 }')
data_dir=$(printf '%s\n' "$plan" | awk -F'\t' '$1 == "dataset" { print $3 }')
table_ids=$(printf '%s\n' "$plan" | awk -F'\t' '$1 == "table" { print $2 }')
runs_dir=${root}runs/$profile
# one backbone per model the tables use (the vilt one, which the figures use,
# in runs/<profile>/pretrain; the others in runs/<profile>/pretrain-<model>)
pre_dirs=() pre_argss=()
while IFS=$'\t' read -r kind dir args; do
    [ "$kind" = pretrain ] && pre_dirs+=("$dir") pre_argss+=("$args")
done <<<"$plan"
# the backbones the profile ships instead (FILE relative to this folder)
ship_dirs=() ship_files=() ship_hashes=()
while IFS=$'\t' read -r kind dir file hash _; do
    [ "$kind" = shipped ] && ship_dirs+=("$dir") ship_files+=("$file") ship_hashes+=("$hash")
done <<<"$plan"
backbone=$runs_dir/pretrain/backbone.safetensors
# the VinVL-style model's first stage, before the pretraining (a plan line
# when a table uses that model; moil skips it when its folder is up to date)
regions_cmd=()
while IFS=$'\t' read -r kind dir args; do
    # shellcheck disable=SC2206 # the plan's arguments are words without spaces
    [ "$kind" = regions ] && regions_cmd=("$MOIL" regions train --data "$dir" $args --threads "$jobs" --quiet)
done <<<"$plan"

# The plan's runs to do, seed by seed (a stable sort on the plan's seed
# field): every cell's first seed runs before any cell's second, so a profile
# stopped part-way leaves whole tables of fewer seeds rather than some cells
# with all seeds; first, one run per retrieval first stage (below).
read_runs() {
    keys=() labels=() tasks=() argss=()
    while IFS=$'\t' read -r kind key state label task seed args; do
        [ "$kind" = run ] || continue
        [ "$state" = todo ] || [ "$force" = 1 ] || continue
        keys+=("$key") labels+=("$label") tasks+=("$task seed $seed") argss+=("$args")
    done < <(printf '%s\n' "$plan" | awk -F'\t' '$1 == "run"' | sort -t "$(printf '\t')" -s -n -k6,6)
    n=${#keys[@]}
    n_all=$(printf '%s\n' "$plan" | sed -n 's/^runs=//p')
    first_stages_first
}

# "<data> <init> <split> <limit>": the first stage a retrieval run re-ranks
# (its arguments' --shortlist, the last of each option winning), nothing for
# other runs. Every run of one backbone and evaluation set reads the same
# first stage, which the first run to evaluate computes and caches in
# DATA/first_stage/ (docs/tasks.md; ~260 s of CPU for the full profile's 200
# x 1,000 pairs).
first_stage_of() {
    [ "$1" = retrieval ] || return 0
    local prev="" w data="" init="" split=test limit="" shortlist=0
    for w in $2; do
        case $prev in
        --data) data=$w ;; --init) init=$w ;; --eval-split) split=$w ;;
        --eval-limit) limit=$w ;; --shortlist) shortlist=$w ;;
        esac
        prev=$w
    done
    [ "$shortlist" = 0 ] || echo "$data $init $split $limit"
}

# The first run of each distinct first stage starts before every other run:
# started while a run of the same stage was still computing it, a run would
# compute it again (in the full profile's order the test and the validation
# first stages were each computed twice). Each occupies a lane until its
# stage is cached; the runs after them read it.
first_stages_first() {
    local i fs front=() rest=()
    declare -A seen=()
    for i in "${!keys[@]}"; do
        fs=$(first_stage_of "${tasks[$i]%% *}" "${argss[$i]}")
        if [ -n "$fs" ] && [ -z "${seen[$fs]+x}" ]; then
            seen[$fs]=1
            front+=("$i")
        else
            rest+=("$i")
        fi
    done
    local order=("${front[@]}" "${rest[@]}") k2=() l2=() t2=() a2=()
    for i in "${order[@]}"; do k2+=("${keys[$i]}") l2+=("${labels[$i]}") t2+=("${tasks[$i]}") a2+=("${argss[$i]}"); done
    keys=("${k2[@]}") labels=("${l2[@]}") tasks=("${t2[@]}") argss=("${a2[@]}")
}
read_runs

if [ "$list" = 1 ]; then
    here=$(pwd)
    for i in "${!keys[@]}"; do
        printf 'cd %q && %q finetune %s --threads 1 --quiet --out %q --db %q --table %q\n' "$here" "$MOIL" \
            "${argss[$i]}" "$runs_dir/${keys[$i]}" "${root}results/shards/${keys[$i]}.db" "${labels[$i]%%/*}"
    done
    exit 0
fi
if [ "$dry" = 1 ]; then
    all_dirs=("${ship_dirs[@]}" "${pre_dirs[@]}")
    echo "profile $profile: $n of $n_all runs to do; dataset $data_dir; backbone ${all_dirs[*]/%//backbone.safetensors}"
    [ -f "$data_dir/manifest.json" ] || echo "would run: $MOIL data gen --profile $dataset --out $data_dir"
    for i in "${!ship_dirs[@]}"; do
        echo "would run: $MOIL backbone install ${ship_files[$i]} --weights-hash ${ship_hashes[$i]} --out ${ship_dirs[$i]}"
    done
    [ "${#regions_cmd[@]}" -eq 0 ] || [ -f "$data_dir/regions/regions.json" ] || echo "would run: ${regions_cmd[*]}"
    for i in "${!pre_dirs[@]}"; do
        [ -f "${pre_dirs[$i]}/backbone.safetensors" ] ||
            echo "would run: $MOIL pretrain --data $data_dir --out ${pre_dirs[$i]} ${pre_argss[$i]}"
    done
    for i in "${!keys[@]}"; do echo "would run [${labels[$i]} ${tasks[$i]}]: $MOIL finetune ${argss[$i]}"; done
    exit 0
fi

say "== dataset $dataset -> $data_dir"
"$MOIL" data gen --profile "$dataset" --out "$data_dir" --quiet >/dev/null || die "moil data gen failed"
# shellcheck disable=SC2086 # the plan's arguments are words without spaces
# (its progress line with ETA goes to stderr, the name=value lines are captured)
pretrain() { "$MOIL" pretrain --data "$data_dir" --out "$pre_dir" $pre_args --db "$db" --table pretrain \
    --threads "$jobs" "$@"; }
if [ "${#regions_cmd[@]}" -gt 0 ]; then
    say "== regions $data_dir/regions"
    out=$("${regions_cmd[@]}") || die "moil regions train failed: $out"
fi
# a shipped backbone: copied in when missing or different, refused (stop
# here) when its weights are not those profiles.conf names
for i in "${!ship_dirs[@]}"; do
    say "== backbone ${ship_dirs[$i]}/backbone.safetensors (shipped: ${ship_files[$i]})"
    out=$("$MOIL" backbone install "${ship_files[$i]}" --weights-hash "${ship_hashes[$i]}" --out "${ship_dirs[$i]}" 2>&1) ||
        die "the shipped backbone was refused: $out"
done
for i in "${!pre_dirs[@]}"; do
    pre_dir=${pre_dirs[$i]} pre_args=${pre_argss[$i]}
    say "== backbone $pre_dir/backbone.safetensors"
    if [ ! -f "$pre_dir/backbone.safetensors" ]; then
        out=$(pretrain) || die "pretraining failed: $out"
        # the database knows the config as done but the file is gone: redo it
        case "$out" in *skipped=1*) pretrain --force >/dev/null || die "pretraining failed" ;; esac
    fi
done
[ "$prepare" = 1 ] && exit 0
# Planned again now that every backbone exists: a run counts as done only when
# it read this backbone and this dataset (moil table plan compares their
# hashes), so a retrained backbone or a regenerated dataset redoes its runs.
make_plan
read_runs

# ---- the fine-tuning runs, --jobs at a time ----
declare -A pid_index=()
declare -A pid_start=()
# failed: every step that failed (the exit status); runs_failed: the fine-tuning runs among them
k=0 done_n=0 failed=0 runs_failed=0 spent=0 stop=0
force_flag=()
[ "$force" = 1 ] && force_flag=(--force)

eta() {
    if [ "$done_n" -eq 0 ]; then echo "ETA ?"; return; fi
    local left=$((n - done_n))
    echo "ETA $((spent * left / done_n / jobs))s"
}

start_run() {
    local i=$1 out=$runs_dir/${keys[$1]}
    mkdir -p "$out"
    # shellcheck disable=SC2086
    "$MOIL" finetune ${argss[$i]} --threads 1 --out "$out" --db "$db" --table "${labels[$i]%%/*}" \
        "${force_flag[@]}" >"$out/log.txt" 2>&1 &
    pid_index[$!]=$i
    pid_start[$!]=$(date +%s)
    k=$((k + 1))
    say "[run $k of $n] start ${labels[$i]} (${tasks[$i]}) key ${keys[$i]}"
}

finish_run() {
    local pid=$1 rc=$2 i=${pid_index[$1]}
    local out=$runs_dir/${keys[$i]} secs=$(($(date +%s) - ${pid_start[$1]}))
    unset "pid_index[$pid]" "pid_start[$pid]"
    done_n=$((done_n + 1))
    spent=$((spent + secs))
    local run_id
    run_id=$(sed -n 's/^run_id=//p' "$out/log.txt" | tail -n 1)
    if [ "$rc" -eq 0 ] && [ -n "$run_id" ]; then
        "$MOIL" table tag --db "$db" --key "${keys[$i]}" --run "$run_id" --args "${argss[$i]}" >/dev/null ||
            echo "run_all.sh: could not tag run $run_id" >&2
        local what
        what=$(grep -E '^(vqa_score|accuracy|ir_r1|tr_r1|skipped)=' "$out/log.txt" | tr '\n' ' ')
        say "[$done_n of $n done] ${labels[$i]} (${tasks[$i]}) ok in ${secs}s: ${what}run $run_id; $(eta)"
    else
        failed=$((failed + 1)) runs_failed=$((runs_failed + 1))
        say "[$done_n of $n done] ${labels[$i]} (${tasks[$i]}) FAILED (status $rc), log $out/log.txt: $(tail -n 1 "$out/log.txt" | tr '\r' '\n' | tail -n 1)"
    fi
}

on_signal() {
    stop=1
    echo "run_all.sh: stopping: SIGTERM to ${#pid_index[@]} running run(s); they record status 'killed'" >&2
    for pid in "${!pid_index[@]}"; do kill -TERM "$pid" 2>/dev/null; done
}
trap on_signal INT TERM

# The latest progress line of each running run (training prints \r updates).
show_progress() {
    [ -t 1 ] || return
    local line="" pid
    for pid in "${!pid_index[@]}"; do
        local i=${pid_index[$pid]}
        line+="${labels[$i]} ${tasks[$i]%% *}:$(tail -c 160 "$runs_dir/${keys[$i]}/log.txt" | tr '\r' '\n' |
            grep -v '^ *$' | tail -n 1 | sed 's/  */ /g' | cut -c1-60)  "
    done
    printf '\r%s\033[K' "${line:0:$(($(tput cols 2>/dev/null || echo 160) - 1))}"
}

say "== $n of $n_all fine-tuning runs to do, $jobs at a time (each --threads 1)"
next=0
while [ "$stop" = 0 ] && { [ "$next" -lt "$n" ] || [ "${#pid_index[@]}" -gt 0 ]; }; do
    while [ "$stop" = 0 ] && [ "$next" -lt "$n" ] && [ "${#pid_index[@]}" -lt "$jobs" ]; do
        start_run "$next"
        next=$((next + 1))
    done
    # wait -n returns when a run ends, or early (status > 128) on a signal
    finished=""
    wait -n -p finished "${!pid_index[@]}"
    rc=$?
    if [ -n "${finished:-}" ] && [ -n "${pid_index[$finished]+x}" ]; then
        [ -t 1 ] && printf '\r\033[K'
        finish_run "$finished" "$rc"
    fi
    show_progress
done
if [ "$stop" = 1 ]; then
    for pid in "${!pid_index[@]}"; do
        wait "$pid"
        finish_run "$pid" $?
    done
    echo "run_all.sh: stopped; rerun the same command to finish ($((n - done_n + failed)) runs left)" >&2
    exit 130
fi

# ---- the runs only the figures need (profiles quick and full, all tables) ----
# Figure 1 needs a full-tuning reference and LoRA/DoRA/MoIL runs measuring
# their distance to it (--reference), figure 2 validation curves
# (--eval-every), figure 5 inference timings (moil bench-infer). VQA, with
# the tables' fine-tuning arguments; logged with table_id "figures".
# Each method's arguments are the plan's "figure" line: the profile's, its VQA
# task line's and its method line's (the learning rate), as in the tables.
declare -A fig_args=()
while IFS=$'\t' read -r kind method args; do
    [ "$kind" = figure ] && fig_args[$method]=$args
done <<<"$plan"
# Validation every steps/16 (the last --steps of the arguments): 16 points
# of figure 2's curve at any length (quick's 400 steps: every 25, as before).
fig_run() {
    local method=$1 out=$runs_dir/figures/$1 steps=0 prev=""
    shift
    mkdir -p "$out"
    for w in ${fig_args[$method]}; do
        [ "$prev" = --steps ] && steps=$w
        prev=$w
    done
    local every=$((steps >= 16 ? steps / 16 : 1))
    # shellcheck disable=SC2086 # the plan's arguments are words without spaces
    "$MOIL" finetune --task vqa --method "$method" --init "$backbone" --data "$data_dir" ${fig_args[$method]} \
        --eval-every "$every" --threads 1 --quiet --out "$out" --db "$db" --table figures "$@" >"$out/log.txt" 2>&1 ||
        { echo "run_all.sh: figure run $method failed, log $out/log.txt" >&2; failed=$((failed + 1)); }
}
if [ "${#tables[@]}" -eq 0 ] && { [ "$profile" = quick ] || [ "$profile" = full ]; }; then
    say "== runs for the figures: VQA full tuning (the reference), then LoRA, DoRA, MoIL, adapter; inference timings"
    fig_run full
    ref=$runs_dir/figures/full/model.safetensors
    if [ -f "$ref" ]; then
        fig_run lora --reference "$ref" &
        fig_run moil --reference "$ref"
        wait
        fig_run dora --reference "$ref" &
        fig_run adapter
        wait
    fi
    if ! "$MOIL" db runs --db "$db" --table inference --status ok | grep -q '^runs_ok=[1-9]'; then
        "$MOIL" bench-infer --init "$backbone" --data "$data_dir" --db "$db" >"$runs_dir/figures/bench-infer.txt" 2>&1 ||
            { echo "run_all.sh: moil bench-infer failed" >&2; failed=$((failed + 1)); }
    fi
fi

# ---- tables and figures: read from the database only ----
for t in $table_ids; do
    r=$("$MOIL" table render --table "$t" --profile "$profile" --db "$db" --out "${root}results/tables/$profile") ||
        { echo "run_all.sh: rendering table $t failed" >&2; failed=$((failed + 1)); continue; }
    say "table $t: ${root}results/tables/$profile/$t.md ($(printf '%s\n' "$r" | sed -n 's/^missing=//p') cells missing)"
done
# table 6, inference cost: the latest moil bench-infer run, when there is one
if "$MOIL" db runs --db "$db" --table inference --status ok 2>/dev/null | grep -q '^runs_ok=[1-9]'; then
    if "$MOIL" table render --table inference --db "$db" --profile "$profile" --out "${root}results/tables/$profile" >/dev/null; then
        say "table inference: ${root}results/tables/$profile/inference.md"
    else
        echo "run_all.sh: rendering table inference failed" >&2
        failed=$((failed + 1))
    fi
fi
# the paper's claims tested on these tables, when the table definitions hold them
if [ -f "$exps/claims.conf" ]; then
    if "$MOIL" table claims --profile "$profile" --db "$db" --claims "$exps/claims.conf" \
        --out "${root}results/tables/$profile" >/dev/null; then
        say "claims: ${root}results/tables/$profile/claims.md"
    else
        echo "run_all.sh: writing the claims failed" >&2
        failed=$((failed + 1))
    fi
fi
if [ "$use_make" = 1 ] && make -n report >/dev/null 2>&1; then
    # its figure lines shown; moil report's name=value lines kept from this script's own
    if out=$(make_locked -s report PROFILE="$profile" FIG_DB="$db" REPORT_OUT="${root}results/report/$profile.html"); then
        say "$(printf '%s\n' "$out" | grep '^figures:')"
        say "report: ${root}results/report/$profile.html"
    else
        echo "run_all.sh: make report failed" >&2
        failed=$((failed + 1))
    fi
fi

secs=$(($(date +%s) - t_start))
others=""
[ "$failed" -gt "$runs_failed" ] && others="; $((failed - runs_failed)) other steps failed (above)"
say "== done in ${secs}s: $((done_n - runs_failed)) runs ok, $runs_failed failed$others"
printf 'runs=%s\nran=%s\nfailed=%s\nskipped=%s\nseconds=%s\n' "$n_all" "$done_n" "$failed" "$((n_all - n))" "$secs"
[ "$failed" -eq 0 ]
