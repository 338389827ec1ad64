#!/usr/bin/env bash
# `make backbone`: rebuild the shipped backbone (backbones/README.md) from
# scratch, exactly as run_all.sh --profile full pretrains its ViLT-style one:
# the profile's dataset and pretraining arguments are those `moil table plan`
# prints for it (experiments/profiles.conf), the pretraining is redone even
# when the database has it (--force) and logged like run_all.sh's. The
# backbone is then copied to the shipped file, its weights hash printed, and
# the hash of every `backbone | PROFILE | vilt | FILE | ...` line of
# profiles.conf that names the file set to it. Usage: --help.
set -u
cd "$(dirname "$0")/.." || exit 1

usage() {
    cat <<'USAGE'
usage: scripts/backbone.sh        (make backbone)

Rebuilds the shipped backbone: moil data gen and moil pretrain --force of the
ViLT-style backbone of profile BACKBONE_PROFILE (as run_all.sh would pretrain
it, on BACKBONE_THREADS threads), then copies its backbone.safetensors to
BACKBONE_OUT, prints its weights hash and writes that hash into every
`backbone | PROFILE | vilt | BACKBONE_OUT | HASH` line of profiles.conf (each
profile that ships the file).
Settings (environment; defaults):
  BACKBONE_PROFILE      full        the profile whose pretraining builds it
  BACKBONE_OUT          backbones/vilt-full.safetensors
  BACKBONE_THREADS      1           (the shipped file's: OpenBLAS's sums depend on it)
  BACKBONE_EXPERIMENTS  experiments (holds profiles.conf)
  BACKBONE_WORK         .           (as run_all.sh --work)
  MOIL                  ./moil
Ends with name=value lines: backbone (the file), weights_hash, was (the hash
before: the profiles.conf line's, else the old file's, else none), changed
(1 or 0; none when there was nothing before), conf_updated (the lines whose
hash was set: 0 when no profile ships the file).
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; '') ;; *) usage >&2; exit 2 ;; esac

profile=${BACKBONE_PROFILE:-full} out=${BACKBONE_OUT:-backbones/vilt-full.safetensors}
threads=${BACKBONE_THREADS:-1} exps=${BACKBONE_EXPERIMENTS:-experiments} work=${BACKBONE_WORK:-.}
MOIL=${MOIL:-./moil}
conf=$exps/profiles.conf
die() { echo "backbone.sh: $*" >&2; exit 1; }
weights_hash() { "$MOIL" backbone hash "$1" | sed -n 's/^weights_hash=//p'; }

tmp=$(mktemp -d) || die "cannot make a temporary folder"
trap 'rm -rf "$tmp"' EXIT
# the plan's layouts go to a scratch database: only the pretraining is logged
plan=$("$MOIL" table plan --profile "$profile" --experiments "$exps" --work "$work" --db "$tmp/plan.db") ||
    die "moil table plan --profile $profile failed"
dataset=$(printf '%s\n' "$plan" | awk -F'\t' '$1 == "dataset" { print $2 }')
data_dir=$(printf '%s\n' "$plan" | awk -F'\t' '$1 == "dataset" { print $3 }')
# the ViLT-style backbone's line, its folder <work>/runs/<profile>/pretrain:
# pretrain FOLDER ARGS, or, when the profile ships it, shipped FOLDER FILE
# HASH ARGS (the arguments that rebuild the shipped file)
pre=$(printf '%s\n' "$plan" | awk -F'\t' -v OFS='\t' '$2 ~ /(^|\/)pretrain$/ {
    if ($1 == "pretrain") print $2, $3; else if ($1 == "shipped") print $2, $5 }')
[ -n "$pre" ] || die "profile $profile uses no ViLT-style backbone (no table of it uses one)"
pre_dir=$(printf '%s\n' "$pre" | cut -f1)
pre_args=$(printf '%s\n' "$pre" | cut -f2)
if [ "$work" = . ]; then db=results/moil.db; else db=$work/results/moil.db; fi

echo "== dataset $dataset -> $data_dir"
"$MOIL" data gen --profile "$dataset" --out "$data_dir" || die "moil data gen failed"
echo "== pretraining $pre_dir ($pre_args, $threads threads)"
# shellcheck disable=SC2086 # the plan's arguments are words without spaces
"$MOIL" pretrain --data "$data_dir" --out "$pre_dir" $pre_args --db "$db" --table pretrain --threads "$threads" \
    --force || die "moil pretrain failed"
new=$(weights_hash "$pre_dir/backbone.safetensors")
[ -n "$new" ] || die "cannot hash $pre_dir/backbone.safetensors"

# the lines of the profiles that ship the file (its path as written, every
# ERE metacharacter escaped); the hash before: the first such line's, else the
# replaced file's
file_re=$(printf '%s' "$out" | sed 's/[][\\.*^$+?(){}|/]/\\&/g')
line_re="^backbone[[:space:]]*\|[^|]*\|[[:space:]]*vilt[[:space:]]*\|[[:space:]]*${file_re}[[:space:]]*\|[[:space:]]*"
was=$(sed -nE "s/${line_re}([0-9a-f]{16}).*/\1/p" "$conf" | head -n 1)
[ -n "$was" ] || { [ -f "$out" ] && was=$(weights_hash "$out"); }
if ! { mkdir -p "$(dirname "$out")" && cp "$pre_dir/backbone.safetensors" "$out.tmp.$$" && mv "$out.tmp.$$" "$out"; }
then
    die "cannot write $out"
fi

ships=$(grep -E "$line_re" "$conf" | sed -E 's/^backbone[[:space:]]*\|[[:space:]]*([^|[:space:]]+).*/\1/' | tr '\n' ' ')
conf_updated=$(grep -cE "$line_re" "$conf")
if [ "$conf_updated" -gt 0 ]; then
    if ! { sed -E "s/(${line_re})[0-9a-f]{16}/\1$new/" "$conf" >"$conf.tmp.$$" && mv "$conf.tmp.$$" "$conf"; }; then
        die "cannot update $conf"
    fi
    echo "$conf: the backbone lines of profiles ${ships}now have weights hash $new"
else
    echo "$conf has no backbone line naming $out; to ship this file from profile P add:"
    echo "backbone | P | vilt | $out | $new"
fi
if [ -z "$was" ]; then
    changed=none
    echo "$out: new backbone, weights hash $new"
elif [ "$was" = "$new" ]; then
    changed=0
    echo "$out: weights unchanged (weights hash $new)"
else
    changed=1
    echo "$out: weights CHANGED: weights hash $was before, $new now (the numbers of the profiles that ship it will differ)"
fi
printf 'backbone=%s\nweights_hash=%s\nwas=%s\nchanged=%s\nconf_updated=%s\n' "$out" "$new" "${was:-none}" "$changed" \
    "$conf_updated"
