/* Which keys a query may attend to, beyond the key padding mask. The
 * sequence is [text (seg tokens); the rest (image, prompts)]. */
#ifndef MOIL_ATTN_MASK_H
#define MOIL_ATTN_MASK_H

typedef enum {
    ATTN_FULL = 0,    /* every unpadded key */
    ATTN_SEPARATE,    /* text queries see text keys only, the rest see the rest only */
    ATTN_CAUSAL_TEXT, /* text query i sees text keys j <= i and every non-text key;
                       * the rest see the rest only (seq2seq captioning, as UniLM /
                       * VinVL: image tokens must not carry later words back) */
} AttnMode;

#endif
