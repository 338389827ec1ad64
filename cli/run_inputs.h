/* Fingerprints of what a fine-tuning run reads besides its arguments, so
 * that a run is never taken for another made on other inputs:
 *   init_hash  the weights hash of the backbone (--init): FNV-1a 64 of its
 *              tensors, not its metadata (safetensors_weights_hash, what
 *              `moil backbone hash` prints), so a backbone whose config or
 *              recorded environment changes but whose weights do not keeps
 *              it; "random" without one;
 *   data_hash  FNV-1a 64 of the dataset folder's manifest.json, which lists
 *              every generated file with its size and CRC-32; "" for a
 *              folder without one (the real datasets).
 * Runs record both in their config; the runner counts a run key as done
 * only when its run read the same backbone and dataset as the plan's. */
#ifndef MOIL_RUN_INPUTS_H
#define MOIL_RUN_INPUTS_H

#define RUN_HASH_LEN 17
/* the init_hash of a run from random weights */
#define RUN_INIT_RANDOM "random"

/* init NULL, "" or "none": "random". A missing file: "" (nothing can match
 * it yet). -1 (err_set, naming the file) when it exists but cannot be read
 * as a safetensors file. */
int run_init_hash(const char *init, char out[RUN_HASH_LEN]);
/* "" without DATA/manifest.json; -1 when it exists but cannot be read. */
int run_data_hash(const char *data_dir, char out[RUN_HASH_LEN]);

#endif
