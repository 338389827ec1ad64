/* Merged variants (LoRA, DoRA, MoIL): for evaluation a method writes the
 * plain weights it folds into over the backbone's entries, keeping the
 * trained values aside, and puts them back before training goes on. */
#ifndef MOIL_METHOD_MERGE_H
#define MOIL_METHOD_MERGE_H

#include "method.h"

/* Copies entry i's values into *kept (allocated on first use, the caller
 * frees it) and returns the entry's data, to overwrite. */
float *merge_keep(const Params *p, int i, float **kept);
/* Copies the kept values back into entry i. */
void merge_put_back(Params *p, int i, const float *kept);

/* The variants of a method whose only one is its merged weights (LoRA,
 * DoRA): MethodOps n_variants and variant_name ("merged"). */
int merge_n_variants(const Method *m);
const char *merge_variant_name(const Method *m, int v);

/* A hooked linear (LoRA, DoRA) merges in place of its hook: NULL if lin is
 * merged already (no hook); else keeps its weight in *kept, unhooks lin and
 * returns the weight, to overwrite with the merged one. */
float *merge_unhook(const Params *p, Linear *lin, float **kept);
/* If lin is merged: puts its kept weight back and hooks it again. */
void merge_rehook(Params *p, Linear *lin, LinearHook *hook, const float *kept);

#endif
