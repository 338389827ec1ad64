#!/bin/sh
# Probes the Debian packages moil-repro needs.
#   scripts/deps.sh check     names every missing package, exits 1 if any
#   scripts/deps.sh install   installs the missing ones with apt-get
#                             (directly as root, through sudo otherwise)
#   scripts/deps.sh optional  the same for optional packages (PyTorch for bench)
set -u
CC=${CC:-cc}

has_header() { printf '#include <%s>\n' "$1" | "$CC" -E -x c - >/dev/null 2>&1; }
has_file() { [ -e "$1" ]; }
has_cmd() { command -v "$1" >/dev/null 2>&1; }
has_pymod() { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import $1" >/dev/null 2>&1; }

# package | kind | probe | what it is for
required() {
    cat <<'LIST'
libopenblas-dev|header|cblas.h|matrix products (OpenBLAS)
libjpeg62-turbo-dev|header|jpeglib.h|JPEG images (libjpeg-turbo)
libsqlite3-dev|header|sqlite3.h|the results database
zlib1g-dev|header|zlib.h|reading the gzip-compressed IDX photos
libjansson-dev|header|jansson.h|JSON annotation files
gnuplot-nox|cmd|gnuplot|figures
sqlite3|cmd|sqlite3|inspecting the results database
dataset-fashion-mnist|file|/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz|the source photos
LIST
}

optional() {
    cat <<'LIST'
python3-torch|pymod|torch|the PyTorch comparison in the benchmark
LIST
}

missing() {
    "$1" | while IFS='|' read -r pkg kind probe why; do
        case $kind in
            header) has_header "$probe" && continue ;;
            file) has_file "$probe" && continue ;;
            cmd) has_cmd "$probe" && continue ;;
            pymod) has_pymod "$probe" && continue ;;
        esac
        echo "$pkg|$why"
    done
}

install() {
    list=$(missing "$1")
    [ -z "$list" ] && { echo "deps: all $2 packages present"; return 0; }
    pkgs=$(printf '%s\n' "$list" | cut -d'|' -f1 | tr '\n' ' ')
    printf '%s\n' "$list" | while IFS='|' read -r pkg why; do echo "deps: installing $pkg ($why)"; done
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq || return 1
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null || {
        echo "deps: apt-get install $pkgs failed" >&2
        return 1
    }
    echo "deps: installed $pkgs"
}

case ${1:-check} in
    check)
        list=$(missing required)
        [ -z "$list" ] && exit 0
        printf '%s\n' "$list" | while IFS='|' read -r pkg why; do
            echo "missing dependency: Debian package $pkg ($why)" >&2
        done
        echo "run 'make deps' to install them" >&2
        exit 1
        ;;
    install) install required required ;;
    optional) install optional optional || echo "deps: optional packages not installed (the benchmark skips PyTorch)" ;;
    *) echo "usage: scripts/deps.sh check|install|optional" >&2; exit 2 ;;
esac
