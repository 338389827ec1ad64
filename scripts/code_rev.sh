#!/bin/sh
# Prints the C header that stamps a build with the source it was built from
# (results/db/db.c records it with every run): the git commit, and whether the
# sources that go into the binary (engine, datasets' code, tasks, results'
# code, cli, Makefile) differed
# from it, untracked files there included. Outside a git checkout: commit
# "unknown", dirty -1. The Makefile rewrites build/code_rev.h only when
# this output changes, so only db.o is rebuilt when the commit moves.
rev=$(git rev-parse HEAD 2>/dev/null) || rev=unknown
if [ "$rev" = unknown ]; then
    dirty=-1
elif [ -n "$(git status --porcelain -- engine datasets/gen datasets/loaders tasks results/db results/report cli Makefile 2>/dev/null)" ]; then
    dirty=1
else
    dirty=0
fi
printf '#define MOIL_CODE_REV "%s"\n#define MOIL_CODE_DIRTY %s\n' "$rev" "$dirty"
