-- The rows of the latest ok `moil bench-infer` run (table_id 'inference'):
-- CTEs last (its run id) and infer (method, form, ms, run_id), form
-- as_trained or merged, from metrics split 'infer' named
-- <method>/<form>/ms_per_example. Read by scripts/figures.sh (figure 5) and,
-- compiled in (results/report/report_inference.c, kept identical by
-- tests/test_table_inference.c), by moil table render --table inference
-- (table 6), after a WITH.
last AS (SELECT max(id) AS id FROM runs WHERE status = 'ok' AND table_id = 'inference'),
infer AS (SELECT substr(name, 1, instr(name, '/') - 1) AS method,
                 substr(name, instr(name, '/') + 1, length(name) - instr(name, '/') - length('/ms_per_example')) AS form,
                 value AS ms, run_id
          FROM metrics WHERE run_id = (SELECT id FROM last) AND split = 'infer'
                         AND name GLOB '*/*/ms_per_example' AND value IS NOT NULL)
