/* The experiment runner's part of the results database (migration 2 of
 * results/schema.sql): table layouts, the runs of each table cell, the
 * runner's run keys, and reading a whole table back for rendering. */
#ifndef MOIL_DB_LAYOUT_H
#define MOIL_DB_LAYOUT_H

#include "db.h"
#include "report_experiment.h"
#include "report_table.h"

/* Record table t's layout and its cells in profile (replacing the previous
 * ones of that table and profile), in one transaction. */
int db_layout_write(Db *db, const ExpTable *t, const char *profile, const ExpCell *cells, int n_cells);
/* 1 if the run key names a config with an 'ok' run that read the backbone
 * init_hash and the dataset data_hash (cli/run_inputs.h; a run recorded
 * before data_hash existed matches any dataset), 0 if not, -1 on error. */
int db_run_key_done(Db *db, const char *run_key, const char *init_hash, const char *data_hash);
/* Map the run key (and its arguments) to the config hash of run run_id. */
int db_run_key_tag(Db *db, const char *run_key, int64_t run_id, const char *args);
/* Read table table_id in profile: layout, numbers, reference rows. */
int db_table_data_load(Db *db, const char *table_id, const char *profile, TableData *out);
/* The ids of the tables with cells in profile: those shown beside the
 * paper's rows first, then by id. Free with experiment_ids_free. */
int db_table_ids(Db *db, const char *profile, char ***ids, int *n);
/* Every table of profile, in db_table_ids' order, into *tables[*n]; on
 * failure *n counts the ones read. Free with db_profile_tables_free either
 * way. */
int db_profile_tables_load(Db *db, const char *profile, TableData **tables, int *n);
void db_profile_tables_free(TableData *tables, int n);

#endif
