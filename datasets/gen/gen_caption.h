/* Captions of fashion scenes: the downstream caption/retrieval set (five
 * distinct descriptions per image) and the pretraining corpus's alt-text
 * (a different family of wordings, one per image). */
#ifndef MOIL_GEN_CAPTION_H
#define MOIL_GEN_CAPTION_H

#include "gen_words.h"

enum { GEN_CAPTIONS_PER_IMAGE = 5 };

/* Five distinct captions of s, each naming every object. */
void gen_caption_make(const GenScene *s, Rng *r, GenText out[GEN_CAPTIONS_PER_IMAGE]);
/* One alt-text caption of s. */
void gen_caption_alt_text(const GenScene *s, Rng *r, GenText *out);

#endif
