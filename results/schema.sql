-- The moil results database (results/moil.db): the single source of every
-- table and figure. This file is a list of forward migrations. Migration N
-- brings a database at PRAGMA user_version N-1 to N; engine/db.c applies the
-- missing ones in one transaction when it opens a database (its copy of this
-- file is engine/db_schema.c, kept identical by tests/test_db.c). Never edit
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
