#!/bin/sh
# A stand-in toolchain for tests/test_deps.c: this machine's gcc confined to
# a sysroot that mirrors the machine through symbolic links, less the
# libraries named. Headers all stay: a stand-in without openblas still has
# cblas.h, as a stock Debian image with only netlib's libblas-dev does.
#
#   tests/standin_cc.sh DIR [NAME...]
#
# makes DIR/sysroot (/usr but its local/ and lib/ folders linked, /usr/lib
# and gcc's own folder mirrored entry by entry, lib<NAME>.* left out of the
# multiarch library folder; /lib and /lib64 as on the machine) and DIR/cc,
# which runs gcc with --sysroot, and with GCC_EXEC_PREFIX so that gcc's own
# library paths (which lead back into /usr/lib) point into the sysroot too.
set -eu
dir=$1
shift
sr=$dir/sysroot
gcc_dir=$(dirname "$(gcc -print-libgcc-file-name)") # /usr/lib/gcc/<triplet>/<version>
arch=$(gcc -print-multiarch)
mkdir -p "$sr/usr/lib/$arch" "$sr$gcc_dir"
for e in /usr/*; do
    case $e in /usr/lib | /usr/local) ;; *) ln -s "$e" "$sr$e" ;; esac
done
for e in /usr/lib/*; do
    case $e in /usr/lib/gcc | "/usr/lib/$arch") ;; *) ln -s "$e" "$sr$e" ;; esac
done
ln -s "$gcc_dir"/* "$sr$gcc_dir/"
ln -s "/usr/lib/$arch"/* "$sr/usr/lib/$arch/"
for name in "$@"; do
    rm -f "$sr/usr/lib/$arch/lib$name".*
done
# /lib and /lib64: links into usr/ on a merged-/usr system, kept inside the
# sysroot; folders of their own otherwise (no development library lives there)
for l in /lib /lib64; do
    if [ -L "$l" ]; then
        t=$(readlink "$l")
        case $t in /*) t=$sr$t ;; esac
        ln -s "$t" "$sr$l"
    elif [ -d "$l" ]; then
        ln -s "$l" "$sr$l"
    fi
done
cat >"$dir/cc" <<EOF
#!/bin/sh
unset LIBRARY_PATH CPATH C_INCLUDE_PATH
GCC_EXEC_PREFIX='$sr${gcc_dir%/*/*}/' exec gcc --sysroot='$sr' "\$@"
EOF
chmod +x "$dir/cc"
