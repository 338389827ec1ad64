#!/bin/sh
# Probes the Debian packages moil-repro needs, each by what the build really
# uses, and installs the missing ones:
#   - every link flag of the Makefile's LDLIBS (`make print-LDLIBS`, the one
#     list of them): a one-line program that includes the library's header
#     and calls it must compile AND link against the flag with $CC, the
#     compiler the build uses. A header alone proves nothing: Debian's netlib
#     reference BLAS (libblas-dev) ships a cblas.h too, without libopenblas;
#   - commands by `command -v`;
#   - the Fashion-MNIST photos by their files.
#
#   scripts/deps.sh check     names every missing package, what it is for and
#                             which probe failed; exits 1 if any is missing
#   scripts/deps.sh install   installs the missing ones with apt-get (apt-get
#                             update first; directly as root, through sudo
#                             otherwise), one line per package saying why,
#                             then probes again; silent when nothing is missing
#   scripts/deps.sh optional  the same for optional packages (PyTorch: the reference
#                             test of the training step, the benchmark)
#   scripts/deps.sh test      the same for what tests use when it is there
#                             (Chromium, which checks the HTML report); make
#                             test runs it, and a test whose tool is still
#                             missing skips with a message
#
# CC: the compiler to probe with (default cc; the Makefile passes its own).
set -u
CC=${CC:-cc}
root=$(cd "$(dirname "$0")/.." && pwd)

# link flag | Debian package | header | a call | what it is for
libraries() {
    cat <<'LIST'
-lopenblas|libopenblas-dev|cblas.h|(void)cblas_sdot(0, 0, 1, 0, 1)|matrix products (OpenBLAS)
-ljansson|libjansson-dev|jansson.h|json_decref(json_null())|JSON annotation files
-ljpeg|libjpeg62-turbo-dev|jpeglib.h|(void)jpeg_std_error(0)|JPEG images (libjpeg-turbo)
-lpng|libpng-dev|png.h|(void)png_access_version_number()|PNG images (NLVR2's, libpng)
-lsqlite3|libsqlite3-dev|sqlite3.h|(void)sqlite3_libversion()|the results database
-lz|zlib1g-dev|zlib.h|(void)zlibVersion()|reading the gzip-compressed IDX photos
-lm|libc6-dev|math.h|volatile double x = 2; (void)sqrt(x)|the C library
-lpthread|libc6-dev|pthread.h|(void)pthread_self()|the C library
LIST
}

# Debian package | kind (cmd, file or pymod) | probe | what it is for
others() {
    cat <<'LIST'
gnuplot-nox|cmd|gnuplot|figures
sqlite3|cmd|sqlite3|inspecting the results database
dataset-fashion-mnist|file|/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz /usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz|the source photos
LIST
}

optional() {
    cat <<'LIST'
python3-torch|pymod|torch|the reference test of the training step and the benchmark's PyTorch comparison
LIST
}

# Debian package | kind | probe | what it is for (tests only)
test_tools() {
    cat <<'LIST'
chromium|cmd|chromium|the report test's headless browser (tests/test_report.c)
LIST
}

work=$(mktemp -d "${TMPDIR:-/tmp}/moil-deps.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

# Compile and link a program that includes <stdio.h> and <header> and makes
# call, against flag, with $CC; on failure print which step failed.
links() {
    flag=$1 header=$2 call=$3
    printf '#include <stdio.h>\n#include <%s>\nint main(void) { %s; return 0; }\n' "$header" "$call" >"$work/probe.c"
    # $CC may hold words (ccache cc, cc --sysroot=DIR)
    # shellcheck disable=SC2086
    $CC "$work/probe.c" -o "$work/probe" "$flag" >/dev/null 2>&1 && return 0
    # shellcheck disable=SC2086
    if $CC -c "$work/probe.c" -o "$work/probe.o" >/dev/null 2>&1; then
        echo "$header compiles but $flag does not link with $CC"
    else
        echo "$header does not compile with $CC"
    fi
    return 1
}

# Every file of the space-separated list exists; else names the first missing.
files() {
    for f in $1; do
        [ -e "$f" ] || { echo "no $f"; return 1; }
    done
}

# One line "package|what it is for|why it counts as missing" per failed probe
# of the required libraries and others, or of the optional packages ($1 =
# optional) or the tests' tools ($1 = test); a package once. Exits 2 on a
# link flag without a row.
missing() {
    : >"$work/missing"
    if [ "$1" = required ]; then
        ldlibs=$(MAKEFLAGS='' make -s --no-print-directory -C "$root" print-LDLIBS) || exit 2
        command -v "${CC%% *}" >/dev/null 2>&1 || {
            echo "deps: no compiler '$CC' to probe the libraries with (set CC, or install gcc)" >&2
            exit 2
        }
        for flag in $ldlibs; do
            row=$(libraries | awk -F'|' -v f="$flag" '$1 == f')
            [ -n "$row" ] || {
                echo "deps: no Debian package known for the link flag $flag (add a row to scripts/deps.sh)" >&2
                exit 2
            }
            IFS='|' read -r _ pkg header call what <<ROW
$row
ROW
            reason=$(links "$flag" "$header" "$call") || echo "$pkg|$what|$reason" >>"$work/missing"
        done
        list=others
    elif [ "$1" = test ]; then
        list=test_tools
    else
        list=optional
    fi
    "$list" | while IFS='|' read -r pkg kind probe what; do
        case $kind in
            cmd) command -v "$probe" >/dev/null 2>&1 || echo "$pkg|$what|no $probe command" ;;
            file) reason=$(files "$probe") || echo "$pkg|$what|$reason" ;;
            pymod) { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import $probe" >/dev/null 2>&1; } ||
                echo "$pkg|$what|python3 cannot import $probe" ;;
        esac
    done >>"$work/missing"
    awk -F'|' '!seen[$1]++' "$work/missing"
}

# Install the missing packages of list $1 (required or optional).
install() {
    list=$(missing "$1") || return 2
    [ -z "$list" ] && return 0
    printf '%s\n' "$list" | while IFS='|' read -r pkg what reason; do
        echo "deps: installing $pkg for $what: $reason"
    done
    pkgs=$(printf '%s\n' "$list" | cut -d'|' -f1 | paste -sd ' ' -)
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || {
            echo "deps: installing $pkgs needs root: run 'make deps' as root, or install sudo" >&2
            return 1
        }
        sudo=sudo
    fi
    $sudo apt-get update -qq || { echo "deps: apt-get update failed" >&2; return 1; }
    # shellcheck disable=SC2086
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >/dev/null || {
        echo "deps: apt-get install $pkgs failed" >&2
        return 1
    }
    list=$(missing "$1") || return 2
    [ -z "$list" ] || {
        printf '%s\n' "$list" | while IFS='|' read -r pkg what reason; do
            echo "deps: $pkg is installed, yet still $reason" >&2
        done
        return 1
    }
    echo "deps: installed $pkgs"
}

case ${1:-check} in
    check)
        list=$(missing required) || exit 2
        [ -z "$list" ] && exit 0
        printf '%s\n' "$list" | while IFS='|' read -r pkg what reason; do
            echo "missing dependency: Debian package $pkg for $what: $reason" >&2
        done
        echo "run 'make deps' to install them" >&2
        exit 1
        ;;
    install) install required ;;
    optional) install optional || echo "deps: optional packages not installed (the reference test and the benchmark skip PyTorch)" ;;
    test) install test || echo "deps: test tools not installed (tests/test_report.c skips its browser check)" ;;
    *) echo "usage: scripts/deps.sh check|install|optional|test" >&2; exit 2 ;;
esac
