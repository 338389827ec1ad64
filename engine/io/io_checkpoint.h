/* Model checkpoints: the entries of a Params store as F32 safetensors
 * tensors under their ViLT/timm names, with string metadata (the model
 * config as JSON, the stem, the method...). */
#ifndef MOIL_CHECKPOINT_H
#define MOIL_CHECKPOINT_H

#include "io_safetensors.h"
#include "nn_params.h"

/* Save the entries whose group bit is set in group_mask (1 << ParamGroup);
 * meta may be NULL. Atomic: a failed save leaves no file at path. */
int checkpoint_save(const char *path, const Params *p, unsigned group_mask, const StMeta *meta, int n_meta);

/* Load every tensor of path into the entry of the same name, checking
 * shapes. Entries of the groups in required_mask must all be present in the
 * file; tensors in the file with no entry are an error unless
 * allow_unknown. The file stays open in *file (for metadata) if file is not
 * NULL; close it with safetensors_close. */
int checkpoint_load(const char *path, Params *p, unsigned required_mask, int allow_unknown, StFile *file);
/* The same from a file already open (read once: a large checkpoint is not
 * held twice in memory). */
int checkpoint_load_file(const StFile *f, Params *p, unsigned required_mask, int allow_unknown);

#endif
