/* What DoRA and MoIL share with LoRA (method_lora.c): the scale, the
 * low-rank pair A, B and its fold into a weight. */
#ifndef MOIL_METHOD_LORA_H
#define MOIL_METHOD_LORA_H

#include "method.h"

/* LoRA's scale: alpha / sqrt(rank) with rslora (--rslora), else alpha / rank. */
float lora_scale(float alpha, int rank, int rslora);
/* The linears LoRA and DoRA hook: the --targets projections of every layer. */
int lora_n_hooks(const Method *m, const Backbone *bb);
/* Registers <linear prefix>.lora_A [r,in] and .lora_B [out,r] for one linear. */
void lora_register_pair(Params *p, const Linear *lin, int r, int *A, int *B);
/* A Kaiming-uniform with a = sqrt 5 (bound 1/sqrt(fan_in)), B = 0. */
void lora_init_pair(Params *p, int A, int B, Rng *rng);
/* W[out,in] += scale * B[out,r] A[r,in] */
void lora_fold(float *W, const float *A, const float *B, int out, int in, int r, float scale);

#endif
