#!/bin/bash
# Build the libFuzzer harnesses (fuzz/fuzz_<reader>.c) with clang under
# ASan + UBSan and run each for FUZZ_SECONDS seconds (default 10), two at a
# time (FUZZ_JOBS), at low priority.
#
#   scripts/fuzz.sh [FUZZ_SECONDS] [READER...]
#
# Everything goes to build-fuzz/: objects, harness binaries, the growing
# corpus of each reader (seeded from fuzz/corpus/<reader>/ and the crash
# regressions fuzz/regressions/<reader>/), crash artifacts in
# build-fuzz/artifacts/<reader>/ and logs. Ends with one line per reader,
# "fuzz <reader> seconds=S execs=E crashes=C", and exits non-zero when a
# harness found a crash (copy the artifact into fuzz/regressions/<reader>/
# once the reader is fixed).
set -eu
cd "$(dirname "$0")/.."
OUT=build-fuzz
CC_FUZZ=${CC_FUZZ:-clang}
# the library's sources, compile flags (the sanitizer build's: -O1, ASan +
# UBSan), include folders (all of them) and link flags as the Makefile has them; the harnesses link the
# library as an archive, which takes what a reader needs
SRC=$(make -s --no-print-directory print-LIB_SRC)
FLAGS="$(make -s --no-print-directory print-BUILD_CFLAGS SAN=1) $(make -s --no-print-directory print-INC)"
LIBS=$(make -s --no-print-directory print-LDLIBS)

# One reader, run in the background by the loop at the end.
if [ "${1:-}" = "--run" ]; then
    r=$2 secs=$3
    mkdir -p "$OUT/corpus/$r" "$OUT/artifacts/$r"
    set -- "$OUT/corpus/$r" "fuzz/corpus/$r"
    [ -d "fuzz/regressions/$r" ] && set -- "$@" "fuzz/regressions/$r"
    nice -n 10 "$OUT/fuzz_$r" -max_total_time="$secs" -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$OUT/artifacts/$r/" "$@" >"$OUT/logs/$r.log" 2>&1 || true
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/logs/$r.log")
    crashes=$(find "$OUT/artifacts/$r" -type f | wc -l)
    echo "fuzz $r seconds=$secs execs=${execs:-0} crashes=$crashes"
    exit 0
fi

secs=${1:-10}
[ $# -gt 0 ] && shift
readers=${*:-$(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_||; s|\.c$||')}
command -v "$CC_FUZZ" >/dev/null || { echo "fuzz: $CC_FUZZ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
mkdir -p "$OUT/obj" "$OUT/logs"
objs=
for c in $SRC; do
    o="$OUT/obj/${c%.c}.o"
    if [ ! -f "$o" ] || [ "$c" -nt "$o" ]; then
        mkdir -p "$(dirname "$o")"
        $CC_FUZZ $FLAGS -fsanitize=fuzzer-no-link -c "$c" -o "$o"
    fi
    objs="$objs $o"
done
rm -f "$OUT/libmoil.a"
ar rcs "$OUT/libmoil.a" $objs
for r in $readers; do
    $CC_FUZZ $FLAGS -fsanitize=fuzzer "fuzz/fuzz_$r.c" "$OUT/libmoil.a" $LIBS \
        -o "$OUT/fuzz_$r"
done
printf '%s\n' $readers | xargs -P "${FUZZ_JOBS:-2}" -I{} "$0" --run {} "$secs" | tee "$OUT/summary.txt"
! grep -q 'crashes=[1-9]' "$OUT/summary.txt"
