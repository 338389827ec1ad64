# moil-repro build. `make` builds the engine library and ./moil; `make test`
# runs the test suite; `make test SAN=1` the same under ASan + UBSan (in
# build-san/); `make pinned-numerics` rewrites the numbers the pinned-numerics
# test compares (tests/vectors/pinned_numerics.txt); `make deps` installs
# missing Debian packages (every build, and
# `make reproduce`, installs the required ones on its own: scripts/deps.sh);
# `make bench` runs the benchmark at the small size, `make bench-b32` at the
# small size and ViLT-B/32's (a few minutes; docs/cli.md); `make parity-b32`
# the parity test of a converted ViLT checkpoint at ViLT-B/32's shape;
# `make figures [PROFILE=full]` draws
# the figures; `make report [PROFILE=full]` writes the HTML results report;
# `make backbone` rebuilds the backbone the quick profile ships
# (backbones/README.md).

CC      ?= cc
SAN     ?= 0
ifeq ($(SAN),1)
BUILD   := build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT     := -O1
else
BUILD   := build
SANFLAGS :=
# A fixed instruction-set level, not -march=native: the same code, so the
# same numbers, on every machine that runs it (x86-64-v3: AVX2 + FMA, Haswell,
# Zen and later). The ops sum in 16 lanes whatever the level
# (engine/ops/op_internal.h), so this build trains bit for bit as a native
# one does on an AVX-512 machine (docs/testing.md, "Numeric reproducibility").
OPT     := -O2 -march=x86-64-v3
endif

# Source folders: the engine's, then the layers above it (docs/architecture.md)
ENGINE_DIRS  := engine/base engine/ops engine/nn engine/models engine/methods engine/train engine/io
DATASET_DIRS := datasets/gen datasets/loaders
TASK_DIRS    := tasks
RESULT_DIRS  := results/db results/report
SRC_DIRS := $(ENGINE_DIRS) $(DATASET_DIRS) $(TASK_DIRS) $(RESULT_DIRS)
# Headers are included by bare name. cli/, tests/ and fuzz/ see every folder
# (INC; scripts/fuzz.sh reads it too); each library layer sees only itself and
# the layers it builds on, so an include against the arrows does not compile:
# engine <- datasets <- tasks, engine <- results.
INC     := $(SRC_DIRS:%=-I%)
$(BUILD)/engine/%.o:   INC := $(ENGINE_DIRS:%=-I%)
$(BUILD)/datasets/%.o: INC := $(ENGINE_DIRS:%=-I%) $(DATASET_DIRS:%=-I%)
$(BUILD)/tasks/%.o:    INC := $(ENGINE_DIRS:%=-I%) $(DATASET_DIRS:%=-I%) $(TASK_DIRS:%=-I%)
$(BUILD)/results/%.o:  INC := $(ENGINE_DIRS:%=-I%) $(RESULT_DIRS:%=-I%)
# The flags that set the numerics, recorded with every run (numeric_env,
# cli/run_numeric_env.c): -ffp-contract=off in every build, so no a*b+c is
# fused into one rounding (an FMA) where the source rounds twice and the
# level's FMA cannot change a result (GCC's default under -std=c11, not clang's).
NUMERIC_FLAGS := $(OPT) -ffp-contract=off
# the compile flags of every build (include folders apart, above); scripts/fuzz.sh
# builds the harnesses with SAN=1's (`make -s print-BUILD_CFLAGS SAN=1`)
BUILD_CFLAGS := -std=c11 $(NUMERIC_FLAGS) -g -Wall -Wextra -Wshadow -Wno-unused-parameter \
           -D_GNU_SOURCE $(SANFLAGS)
CFLAGS  := $(BUILD_CFLAGS) -MMD -MP
LDLIBS  := -lopenblas -ljansson -ljpeg -lpng -lsqlite3 -lz -lm -lpthread
LDFLAGS := $(SANFLAGS)

LIB_SRC  := $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c))
CLI_SRC  := $(wildcard cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
# test-only code linked into every test binary (the finite-difference harness,
# the plain-loop oracle of the linear op)
TEST_SUPPORT_OBJ := $(BUILD)/tests/gradcheck.o $(BUILD)/tests/op_reference.o

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
LIB      := $(BUILD)/libmoil.a
MOIL     := $(BUILD)/moil
DEPS_OK  := $(BUILD)/.deps-ok

.PHONY: all deps test pinned-numerics bench bench-b32 parity-b32 datasets backbone reproduce tables figures report fuzz clean print-% FORCE
# keep object files of the test binaries between runs
.SECONDARY:
ifeq ($(SAN),1)
all: $(MOIL)
else
all: $(MOIL) moil
endif

# Probe every dependency with the build's compiler and link flags (LDLIBS,
# which scripts/deps.sh reads through print-LDLIBS) and install what is
# missing, saying what and why: once per build folder, again when the script
# or this Makefile changes. Order-only for the objects: a new probe rebuilds
# nothing.
DEPS := CC='$(CC)' scripts/deps.sh
$(DEPS_OK): scripts/deps.sh Makefile
	@mkdir -p $(BUILD)
	@$(DEPS) install
	@touch $@

deps:
	@$(DEPS) install
	@$(DEPS) optional
	@$(DEPS) test

$(BUILD)/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC) -c $< -o $@

# The source revision the binary is built from, recorded with every run
# (results/db/db.c); rewritten only when it changes, so only db.o follows it.
# The temporary file is the process's own (.tmp.PID): two makes at once in one
# tree (two run_all.sh) would otherwise move each other's file away.
CODE_REV_H := $(BUILD)/code_rev.h
$(CODE_REV_H): FORCE
	@mkdir -p $(BUILD)
	@t=$@.tmp.$$$$; scripts/code_rev.sh > $$t && if cmp -s $$t $@; then rm -f $$t; else mv $$t $@; fi
$(BUILD)/results/db/db.o: $(CODE_REV_H)
$(BUILD)/results/db/db.o: CFLAGS += -include $(CODE_REV_H)
FORCE:
$(BUILD)/cli/run_numeric_env.o: CFLAGS += -DMOIL_NUMERIC_FLAGS='"$(NUMERIC_FLAGS)"'


$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(MOIL): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

moil: $(MOIL)
	@ln -sf $(MOIL) moil

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_SUPPORT_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJ) $(LIB) $(LDLIBS)

# (the tests' tools first: Chromium for the report test, installed when
# missing and possible; that test skips its browser check otherwise)
test: $(TEST_BIN) $(MOIL)
	@$(DEPS) test
	@MOIL=$(CURDIR)/$(MOIL) tests/run.sh $(TEST_BIN)

# Rewrite the pinned numbers of tests/test_pinned_numerics.c from this build;
# commit the file with the reason its numbers changed (docs/testing.md).
pinned-numerics: $(BUILD)/tests/test_pinned_numerics $(MOIL)
	MOIL=$(CURDIR)/$(MOIL) $(BUILD)/tests/test_pinned_numerics --write tests/vectors/pinned_numerics.txt

bench: $(MOIL)
	$(MOIL) bench

bench-b32: $(MOIL)
	$(MOIL) bench --config small,vilt-b32

# The parity test of a converted ViLT checkpoint at ViLT-B/32's shape (d 768,
# 12 layers and heads, BERT's 30,522 tokens; make test runs it at d 64):
# opt-in, about 4 minutes on 2 busy cores and 2 GB (docs/testing.md, "The parity test").
parity-b32: $(BUILD)/tests/test_vilt_parity $(MOIL)
	MOIL=$(CURDIR)/$(MOIL) nice -n 10 $(BUILD)/tests/test_vilt_parity --b32

# the quick-profile dataset in datasets/data/quick (a no-op when up to date)
datasets: $(MOIL)
	$(MOIL) data gen

# The shipped backbone, rebuilt from scratch as the full profile pretrains it
# (about 15 minutes on 2 cores): backbones/vilt-full.safetensors, and its
# weights hash in experiments/profiles.conf (scripts/backbone.sh).
backbone: all
	scripts/backbone.sh

# The paper's tables: `make reproduce` (quick profile; PROFILE=full for the full
# one), `make table-main`, `make tables` (render only, from the database;
# table 6, inference cost, from the latest moil bench-infer run).
PROFILE ?= quick
reproduce:
	@$(DEPS) install
	@$(MAKE) --no-print-directory all
	./run_all.sh --profile $(PROFILE)

table-%: all
	./run_all.sh --profile $(PROFILE) --table $*

tables: all
	@for f in experiments/*.exp; do ./moil table render --profile $(PROFILE) --table $$(basename $$f .exp) || exit 1; done
	@./moil table render --profile $(PROFILE) --table inference

# Figures, drawn by gnuplot from the database only (plots/README.md): the
# quick profile's from results/moil.db (what make reproduce writes) into
# plots/; `make figures PROFILE=full` the full profile's from the committed
# snapshot results/full/moil.db into plots/full/. FIG_DB and FIG_OUT override
# them (run_all.sh passes the database it ran with).
ifeq ($(PROFILE),quick)
FIG_DB  ?= results/moil.db
FIG_OUT ?= plots
else
FIG_DB  ?= results/$(PROFILE)/moil.db
FIG_OUT ?= plots/$(PROFILE)
endif
FIGURES := fig1 fig2 fig3 fig4 fig5
.PHONY: $(FIGURES)
figures: $(FIGURES)
$(FIGURES):
	scripts/figures.sh --db $(FIG_DB) --out $(FIG_OUT) --profile $(PROFILE) $@

# The results report (`moil report --help`): one self-contained HTML page of
# the profile from the database the figures read, with the figures drawn
# first, into results/report/<profile>.html (REPORT_OUT overrides it).
REPORT_OUT ?= results/report/$(PROFILE).html
report: all figures
	$(MOIL) report --profile $(PROFILE) --db $(FIG_DB) --figures $(FIG_OUT) --out $(REPORT_OUT)

# libFuzzer harnesses of every reader (fuzz/README.md), FUZZ_SECONDS each,
# two at a time; needs clang and libclang-rt-14-dev. CI smoke (.ci/run): FUZZ_SECONDS=3
FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

# `make -s print-LIB_SRC`: a variable's value, for the scripts (fuzz.sh)
print-%:
	@echo $($*)

clean:
	rm -rf build build-san build-fuzz moil

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_BIN:=.d) $(TEST_SUPPORT_OBJ:.o=.d)
