-- The moil results database (results/moil.db): the single source of every
-- table and figure. This file is a list of forward migrations. Migration N
-- brings a database at PRAGMA user_version N-1 to N; results/db/db.c applies the
-- missing ones in one transaction when it opens a database (its copy of this
-- file is results/db/db_schema.c, kept identical by tests/test_db.c). Never edit
-- a migration that has shipped: append a new one. Running the whole file with
-- `sqlite3 x.db < results/schema.sql` gives the same schema.
--
-- Conventions: times are UTC ISO 8601 text ('2025-01-31T12:00:00.000Z');
-- a value that is NaN or infinite is stored as value NULL with nonfinite
-- 'nan', 'inf' or '-inf' (SQLite turns NaN into NULL); readers keep the last
-- value per key, which the primary keys enforce (writers upsert).

-- migration 1: runs, metrics, curves, paper_reference
PRAGMA application_id = 1297041740; -- 0x4D4F494C, 'MOIL': marks a moil database

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- One row per training/evaluation run, written first with status 'running'
-- and finished last. A 'running' row whose process is gone (pid on host, or
-- a heartbeat too old) is stale: db_runs_mark_stale() turns it into 'killed'.
CREATE TABLE runs (
    id               INTEGER PRIMARY KEY,
    table_id         TEXT,             -- paper table the run belongs to; NULL if none
    task             TEXT NOT NULL,    -- retrieval, vqa, nlvr, caption, pretrain
    model            TEXT NOT NULL,    -- vilt, vlmo, vinvl
    method           TEXT NOT NULL,    -- full, heads, bitfit, prompt, adapter, lora, moil, ...
    seed             INTEGER NOT NULL,
    config_json      TEXT NOT NULL CHECK (json_valid(config_json)), -- canonical: sorted keys, compact
    config_hash      TEXT NOT NULL,    -- FNV-1a 64 of config_json, 16 hex digits
    code_rev         TEXT NOT NULL,    -- git commit, or 'unknown'
    code_dirty       INTEGER CHECK (code_dirty IN (0, 1)), -- uncommitted changes; NULL if unknown
    host             TEXT NOT NULL,
    pid              INTEGER NOT NULL,
    threads          INTEGER NOT NULL,
    params_trainable INTEGER,          -- parameters the optimiser updates
    params_stored    INTEGER,          -- parameters saved per task
    params_backbone  INTEGER,          -- parameters of the pretrained backbone
    started_at       TEXT NOT NULL,
    heartbeat_at     TEXT NOT NULL,    -- last sign of life of the process
    ended_at         TEXT,
    status           TEXT NOT NULL DEFAULT 'running'
                     CHECK (status IN ('running', 'ok', 'failed', 'diverged', 'killed')),
    error            TEXT,             -- why a run failed, diverged or was killed
    wall_s           REAL,             -- seconds from start to end
    peak_mem_bytes   INTEGER           -- peak resident memory of the process
) STRICT;
CREATE INDEX runs_by_config ON runs (config_hash, status);
CREATE INDEX runs_by_table ON runs (table_id, task, model, method);

-- Final numbers of a run: one value per (run, split, name), e.g.
-- (7, 'test', 'ir_r1', 0.4667).
CREATE TABLE metrics (
    run_id    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    split     TEXT NOT NULL,
    name      TEXT NOT NULL,
    value     REAL,
    nonfinite TEXT CHECK (nonfinite IN ('nan', 'inf', '-inf')),
    CHECK ((value IS NULL) = (nonfinite IS NOT NULL)),
    PRIMARY KEY (run_id, split, name)
) STRICT, WITHOUT ROWID;

-- Values over training: losses, evaluation metrics, approximation error,
-- imitation loss; one value per (run, name, step).
CREATE TABLE curves (
    run_id    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    step      INTEGER NOT NULL,
    value     REAL,
    nonfinite TEXT CHECK (nonfinite IN ('nan', 'inf', '-inf')),
    CHECK ((value IS NULL) = (nonfinite IS NOT NULL)),
    PRIMARY KEY (run_id, name, step)
) STRICT, WITHOUT ROWID;

-- Numbers reported by the paper and its baselines' sources, at their scale
-- ('real': the published models and datasets). Shown beside ours, never mixed.
-- Loaded from results/paper_reference.sql.
CREATE TABLE paper_reference (
    model        TEXT NOT NULL,    -- vilt, clip-bart, or 'unspecified'
    method       TEXT NOT NULL,    -- in this suite's method names
    dataset      TEXT NOT NULL,    -- f30k, coco, vqav2, gqa, nlvr2
    split        TEXT NOT NULL,    -- test-dev, test-P, test, or 'unspecified'
    metric       TEXT NOT NULL,    -- in this suite's metric names (ir_r1, vqa_score, ...)
    value        REAL NOT NULL,
    unit         TEXT NOT NULL,    -- percent, cider x100, points
    params_pct   REAL,             -- share of parameters updated, where reported
    scale        TEXT NOT NULL,    -- 'real'
    source_label TEXT NOT NULL,    -- how the source names the row
    source       TEXT NOT NULL,    -- where the number is published
    PRIMARY KEY (model, method, dataset, split, metric, source)
) STRICT;

-- Every metric of every finished run with the run's identity: the base the
-- per-table views select from.
CREATE VIEW ok_metrics AS
SELECT r.id AS run_id, r.table_id, r.task, r.model, r.method, r.seed, r.config_hash,
       r.code_rev, m.split, m.name, m.value, m.nonfinite
FROM runs AS r JOIN metrics AS m ON m.run_id = r.id
WHERE r.status = 'ok';

PRAGMA user_version = 1;

-- migration 2: table layouts and run keys of the experiment runner, per-table views
-- `moil table plan` writes the layout of each table it plans (experiments/*.exp)
-- and the runs that make each row; `moil table tag` maps the runner's key of a
-- run (a hash of its arguments) to the config hash of the run that made it.
-- Rendering (`moil table render`) reads only these tables and the views below.
CREATE TABLE table_layout (
    table_id        TEXT PRIMARY KEY,
    title           TEXT NOT NULL,
    reference_model TEXT,              -- paper_reference.model shown beside ours; NULL: none
    average_label   TEXT,              -- label of the column averaging the metric columns; NULL: none
    params          INTEGER NOT NULL CHECK (params IN (0, 1)) -- show trainable/stored share
) STRICT;

-- The metric columns of a table, in order.
CREATE TABLE table_columns (
    table_id    TEXT NOT NULL,
    col         INTEGER NOT NULL,
    label       TEXT NOT NULL,
    task        TEXT NOT NULL,
    split       TEXT NOT NULL,     -- metrics.split of a plain run (a row may add a suffix)
    metric      TEXT NOT NULL,     -- metrics.name
    ref_dataset TEXT,              -- paper_reference.dataset of this column; NULL: none
    PRIMARY KEY (table_id, col)
) STRICT;

-- The runs that make each row of a table in a profile: one per task and seed.
CREATE TABLE table_cells (
    table_id     TEXT NOT NULL,
    profile      TEXT NOT NULL,    -- quick, full, ...
    row          INTEGER NOT NULL,
    label        TEXT NOT NULL,
    ref_method   TEXT,             -- paper_reference.method of this row; NULL: none
    split_suffix TEXT NOT NULL,    -- '' or e.g. '@ema': the variant of the run this row shows
    task         TEXT NOT NULL,
    seed         INTEGER NOT NULL,
    run_key      TEXT NOT NULL,    -- run_keys.run_key
    PRIMARY KEY (table_id, profile, row, task, seed)
) STRICT;

-- Which run the runner's key names: its arguments and the run's config hash.
CREATE TABLE run_keys (
    run_key     TEXT PRIMARY KEY,  -- FNV-1a 64 of the canonical arguments, 16 hex digits
    config_hash TEXT NOT NULL,     -- runs.config_hash
    args        TEXT NOT NULL      -- the moil finetune arguments
) STRICT;

-- Every number of every table: the latest 'ok' run of each cell's config.
CREATE VIEW table_values AS
SELECT c.table_id, c.profile, c.row, c.label AS row_label, c.split_suffix, k.col, k.label AS col_label,
       c.task, c.seed, r.id AS run_id, m.split, m.name AS metric, m.value,
       r.params_trainable, r.params_stored, r.params_backbone
FROM table_cells AS c
JOIN table_columns AS k ON k.table_id = c.table_id AND k.task = c.task
JOIN run_keys AS rk ON rk.run_key = c.run_key
JOIN runs AS r ON r.id = (SELECT max(id) FROM runs
                          WHERE config_hash = rk.config_hash AND status = 'ok')
JOIN metrics AS m ON m.run_id = r.id AND m.split = k.split || c.split_suffix AND m.name = k.metric;

-- Mean, sample standard deviation (NULL for one seed) and count per cell.
CREATE VIEW table_summary AS
SELECT table_id, profile, row, row_label, split_suffix, col, col_label, count(value) AS n,
       avg(value) AS mean,
       CASE WHEN count(value) > 1 THEN
           sqrt(max(0.0, (sum(value * value) - sum(value) * sum(value) / count(value)) / (count(value) - 1)))
       END AS sd
FROM table_values GROUP BY table_id, profile, row, col;

-- Trainable and stored parameters per row, as percent of the backbone,
-- averaged over the row's runs (the task heads differ per task).
CREATE VIEW table_params AS
SELECT c.table_id, c.profile, c.row, count(*) AS runs,
       avg(100.0 * r.params_trainable / r.params_backbone) AS trainable_pct,
       avg(100.0 * r.params_stored / r.params_backbone) AS stored_pct
FROM table_cells AS c
JOIN run_keys AS rk ON rk.run_key = c.run_key
JOIN runs AS r ON r.id = (SELECT max(id) FROM runs
                          WHERE config_hash = rk.config_hash AND status = 'ok')
GROUP BY c.table_id, c.profile, c.row;

-- One view per table of experiments/: mean, sd and n per row and column.
CREATE VIEW table_main AS
SELECT profile, row_label, col_label, n, mean, sd FROM table_summary WHERE table_id = 'main' ORDER BY profile, row, col;
CREATE VIEW table_retrieval AS
SELECT profile, row_label, col_label, n, mean, sd FROM table_summary WHERE table_id = 'retrieval' ORDER BY profile, row, col;
CREATE VIEW table_ablation AS
SELECT profile, row_label, col_label, n, mean, sd FROM table_summary WHERE table_id = 'ablation' ORDER BY profile, row, col;
CREATE VIEW table_sweep_rank AS
SELECT profile, row_label, col_label, n, mean, sd FROM table_summary WHERE table_id = 'sweep_rank' ORDER BY profile, row, col;
CREATE VIEW table_sweep_momentum AS
SELECT profile, row_label, col_label, n, mean, sd FROM table_summary WHERE table_id = 'sweep_momentum' ORDER BY profile, row, col;
CREATE VIEW table_sweep_steps AS
SELECT profile, row_label, col_label, n, mean, sd FROM table_summary WHERE table_id = 'sweep_steps' ORDER BY profile, row, col;
CREATE VIEW table_sweep_lr AS
SELECT profile, row_label, col_label, n, mean, sd FROM table_summary WHERE table_id = 'sweep_lr' ORDER BY profile, row, col;

PRAGMA user_version = 2;

-- migration 3: per-item scores of the final evaluations
-- The score of every test item (a VQA question, an NLVR pair, a retrieval
-- query, a captioned image) of a run's final evaluation, for confidence
-- intervals and paired tests over the same items (docs/database.md,
-- "Per-item scores"). Compact: the item ids once per distinct list, the
-- scores of a run as one deflated array.

-- The ids of one list of test items, in order.
CREATE TABLE item_sets (
    hash TEXT PRIMARY KEY,          -- FNV-1a 64 of the ids text below (before deflating), 16 hex digits
    n    INTEGER NOT NULL CHECK (n >= 0),
    ids  BLOB NOT NULL              -- zlib stream of the ids, each followed by a line feed
) STRICT;

-- One array of scores per run, split and family: vqa_score (0, 30, 60, 90,
-- 100 per question), accuracy (NLVR: 100 correct, 0 wrong), cider_d (per
-- image, x100), ir_rank / tr_rank (the rank of the true match of each text /
-- image query, 1 = first, 0 = none; R@K = share of 0 < rank <= K), and the
-- same with a prefix for a second scoring (rerank_ir_rank).
CREATE TABLE item_scores (
    run_id   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    split    TEXT NOT NULL,         -- as metrics.split: 'test', 'test@ema', ...
    name     TEXT NOT NULL,         -- the family
    item_set TEXT NOT NULL REFERENCES item_sets (hash),
    encoding TEXT NOT NULL CHECK (encoding IN ('u8', 'u16', 'f32', 'f64')), -- the narrowest exact for every value
    scores   BLOB NOT NULL,         -- zlib stream of n little-endian values of the encoding, in the set's order
    PRIMARY KEY (run_id, split, name)
) STRICT;

PRAGMA user_version = 3;

-- migration 4: the row of a table the others are tested against
-- An .exp file's `compare | ROW`: each other row's cell is tested against
-- this row's cell of the same column (paired over the same test items and
-- seeds, Holm-adjusted over the table's tests; results/README.md,
-- "Intervals and tests") and marked where they differ. Tables planned
-- before this test against their row 'MoIL', where they have one.
ALTER TABLE table_layout ADD COLUMN compare_row TEXT; -- a row label of the table; NULL: no tests
UPDATE table_layout SET compare_row = 'MoIL'
WHERE EXISTS (SELECT 1 FROM table_cells AS c WHERE c.table_id = table_layout.table_id
              AND c.label = 'MoIL' AND c.split_suffix = '');

PRAGMA user_version = 4;

-- migration 5: the numeric environment of each run
-- A run's config carries "numeric_env" (cli/run_numeric_env.h): the CPU, the
-- build's numeric flags, the compiler, OpenBLAS's configuration and the
-- kernels it chose (openblas_core; OPENBLAS_CORETYPE when set) and the thread
-- count. It is left out of config_hash, so a run made on another machine is
-- the same configuration, done once; runs made before carry none (NULL
-- below). From this version on a config's init_hash is the backbone's
-- weights hash (`moil backbone hash`: its tensors, not its metadata); runs
-- recorded before carry the file's byte hash, which changes with metadata.
CREATE VIEW run_numeric_env AS
SELECT id AS run_id, json_extract(config_json, '$.numeric_env.cpu') AS cpu,
       json_extract(config_json, '$.numeric_env.build') AS build,
       json_extract(config_json, '$.numeric_env.openblas_core') AS openblas_core,
       json_extract(config_json, '$.numeric_env.openblas_coretype') AS openblas_coretype,
       threads
FROM runs;

PRAGMA user_version = 5;

-- migration 6: the boot a run's process belongs to
-- A 'running' row is judged by its pid on its host. After a reboot, or on
-- another machine of the same host name (each instance of one cloud image),
-- that pid may be another process's. boot_id is the Linux boot id
-- (/proc/sys/kernel/random/boot_id) of the process that began the run: a
-- running row of this host from another boot is stale whatever its pid.
-- NULL: not known (recorded before this version, or no such file).
ALTER TABLE runs ADD COLUMN boot_id TEXT;

PRAGMA user_version = 6;
