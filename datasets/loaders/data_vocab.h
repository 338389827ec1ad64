/* The word vocabulary of a dataset folder: built from the training text of
 * every part that exists (pretraining alt-text, train captions, train VQA
 * questions, train NLVR statements), so that one backbone reads every task.
 * A pretrained checkpoint carries its vocabulary in its metadata ("vocab",
 * one token per line) and fine-tuning reuses it. */
#ifndef MOIL_DATASET_VOCAB_H
#define MOIL_DATASET_VOCAB_H

#include "io_safetensors.h"
#include "io_tokenizer.h"

int data_vocab_build(Tokenizer *tok, const char *data_dir, int min_count);
/* The vocabulary as one string, one word per line (caller frees). */
char *data_vocab_to_text(const Tokenizer *tok);
/* The tokenizer of a checkpoint: its kind from the "tokenizer" metadata
 * ("word" or "wordpiece"; absent: word), its vocabulary from "vocab". */
int data_vocab_from_checkpoint(Tokenizer *tok, const StFile *f);

#endif
