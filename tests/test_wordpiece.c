/* The WordPiece tokenizer (engine/io/io_wordpiece.h) and what every
 * tokenizer shares (engine/io/io_tokenizer.h): hand-checked vectors of
 * BERT's uncased behaviour (accents, punctuation, ## pieces, unknown and
 * over-long words, CJK, truncation, padding) with a vocabulary whose
 * special tokens sit where BERT's do not; then the same tokenizer against
 * tests/wordpiece_reference.py (BERT's algorithm with Python's Unicode
 * database) on every code point the engine's tables cover and on random
 * text (skipped with a message without /usr/bin/python3). */
#include "check.h"
#include "data_vocab.h"
#include "io_tokenizer.h"
#include "io_wordpiece.h"
#include "io_json_read.h"
#include "proc.h"
#include "test.h"

#include <unistd.h>

static char tmp_dir[] = "/tmp/moil_wordpiece_XXXXXX";
#include "tmp_path.h"

/* Specials apart and out of the word-level order: [PAD] 0, [UNK] 3,
 * [CLS] 4, [SEP] 5, [MASK] 6. */
static const char *const base_vocab[] = {
    "[PAD]", "[unused0]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "man", "un", "##aff",
    "##able", "play", "##ing", "##s", "cafe", "naive", "uber", ",", ".", "!", "'", "s", "t", "-", "shirt",
    "\xe4\xb8\xad", "\xe5\x9b\xbd", "##a", "strasse", "stra", "##\xc3\x9f", "##e", "\xc5\x82", "##od", "##z",
};
#define N_BASE (int)(sizeof base_vocab / sizeof base_vocab[0])

/* A WordPiece tokenizer of words[n] (plus extra, one token a line, if not NULL). */
static void vocab_make(Tokenizer *t, const char *const *words, int n, const char *extra) {
    size_t len = extra ? strlen(extra) + 1 : 1;
    for (int i = 0; i < n; i++) len += strlen(words[i]) + 1;
    char *buf = xmalloc(len), *p = buf;
    for (int i = 0; i < n; i++) p += sprintf(p, "%s\n", words[i]);
    sprintf(p, "%s", extra ? extra : "");
    if (tokenizer_parse(t, TOKENIZER_WORDPIECE, buf, "test vocab") != 0) die("%s", err_msg());
    free(buf);
}

/* The tokens of text (encoded to max_len), [CLS]/[SEP]/[PAD] included,
 * as one string joined by spaces. */
static const char *encoded(const Tokenizer *t, const char *text, int max_len) {
    static char out[4096];
    int32_t ids[256];
    uint8_t mask[256];
    int n = tokenizer_encode(t, text, max_len, ids, mask), o = 0;
    out[0] = 0;
    for (int i = 0; i < max_len; i++)
        o += snprintf(out + o, sizeof out - (size_t)o, "%s%s", i ? " " : "", t->words[ids[i]]);
    for (int i = 0; i < max_len; i++)
        if (mask[i] != (i < n)) snprintf(out, sizeof out, "mask[%d] is %d with %d real tokens", i, mask[i], n);
    return out;
}

static void test_specials_by_name(void) {
    Tokenizer t;
    vocab_make(&t, base_vocab, N_BASE, NULL);
    CHECK(t.kind == TOKENIZER_WORDPIECE && t.pad == 0 && t.unk == 3 && t.cls == 4 && t.sep == 5 && t.mask == 6,
          "pad %d unk %d cls %d sep %d mask %d", t.pad, t.unk, t.cls, t.sep, t.mask);
    CHECK(tokenizer_is_special(&t, 3) && !tokenizer_is_special(&t, 1) && !tokenizer_is_special(&t, 7), "is_special");
    CHECK(tokenizer_ordinary(&t, 0) == 1 && tokenizer_ordinary(&t, 1) == 2 && tokenizer_ordinary(&t, 2) == 7 &&
              tokenizer_ordinary(&t, N_BASE - 6) == N_BASE - 1,
          "ordinary ids %d %d %d", tokenizer_ordinary(&t, 0), tokenizer_ordinary(&t, 1), tokenizer_ordinary(&t, 2));
    CHECK(tokenizer_id(&t, "zebra") == 3, "an absent token is [UNK]");
    tokenizer_free(&t);
    /* a missing special token is named; the word-level order is not asked of WordPiece */
    char buf[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n";
    CHECK(tokenizer_parse(&t, TOKENIZER_WORDPIECE, buf, "v.txt") != 0 && strstr(err_msg(), "v.txt: no special token [MASK]"),
          "%s", err_msg());
    char word[] = "[PAD]\n[unused0]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    CHECK(tokenizer_parse(&t, TOKENIZER_WORD, word, "w.txt") != 0 && strstr(err_msg(), "w.txt:2: expected special token [UNK]"),
          "%s", err_msg());
    CHECK(tokenizer_kind_parse("wordpiece") == TOKENIZER_WORDPIECE && tokenizer_kind_parse("word") == TOKENIZER_WORD &&
              tokenizer_kind_parse("bpe") < 0 && strstr(err_msg(), "'bpe'"),
          "kind names");
}

/* The tokenizer of a checkpoint: its kind from the "tokenizer" metadata
 * (absent: word), its vocabulary from "vocab". */
static void test_from_checkpoint(void) {
    const char *vocab = "[PAD]\n[unused0]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n##s\n";
    float w = 0;
    StTensor x = {.name = "x", .dtype = ST_F32, .ndim = 1, .shape = {1}, .data = &w};
    StMeta meta[] = {{"vocab", vocab}, {"tokenizer", "wordpiece"}};
    Tokenizer t;
    StFile f;
    CHECK(safetensors_write(tmp_path("wp.safetensors"), &x, 1, meta, 2) == 0, "%s", err_msg());
    CHECK(safetensors_open(tmp_path("wp.safetensors"), &f) == 0, "%s", err_msg());
    CHECK(data_vocab_from_checkpoint(&t, &f) == 0 && t.kind == TOKENIZER_WORDPIECE && t.cls == 3 && t.n == 8, "%s",
          err_msg());
    tokenizer_free(&t);
    safetensors_close(&f);
    meta[1].value = "bpe";
    CHECK(safetensors_write(tmp_path("bad.safetensors"), &x, 1, meta, 2) == 0, "%s", err_msg());
    CHECK(safetensors_open(tmp_path("bad.safetensors"), &f) == 0, "%s", err_msg());
    CHECK(data_vocab_from_checkpoint(&t, &f) != 0 && strstr(err_msg(), "bad.safetensors: metadata 'tokenizer'") &&
              strstr(err_msg(), "'bpe'"),
          "%s", err_msg());
    safetensors_close(&f);
    /* absent: word-level, which wants its specials first */
    CHECK(safetensors_write(tmp_path("word.safetensors"), &x, 1, meta, 1) == 0, "%s", err_msg());
    CHECK(safetensors_open(tmp_path("word.safetensors"), &f) == 0, "%s", err_msg());
    CHECK(data_vocab_from_checkpoint(&t, &f) != 0 && strstr(err_msg(), ":2: expected special token [UNK]"), "%s",
          err_msg());
    safetensors_close(&f);
}

static void test_hand_vectors(void) {
    Tokenizer t;
    vocab_make(&t, base_vocab, N_BASE, NULL);
    static const struct {
        const char *text;
        int max_len;
        const char *want;
    } v[] = {
        {"UNaffable", 6, "[CLS] un ##aff ##able [SEP] [PAD]"},
        /* apostrophes and ! are words of their own; ##s after play */
        {"The man's playing!", 10, "[CLS] the man ' s play ##ing ! [SEP] [PAD]"},
        /* precomposed and decomposed accents, upper case, Latin-1 and Latin Extended-A */
        {"Caf\xc3\xa9 NA\xc3\x8fVE \xc3\x9c" "ber", 6, "[CLS] cafe naive uber [SEP] [PAD]"},
        {"Cafe\xcc\x81 \xcc\x81the", 5, "[CLS] cafe the [SEP] [PAD]"},
        /* \xc5\x81 is L with stroke: lower-cased, no accent to strip; \xc3\xb3 and \xc5\xba lose theirs */
        {"\xc5\x81\xc3\xb3" "d\xc5\xba", 6, "[CLS] \xc5\x82 ##od ##z [SEP] [PAD]"},
        /* sharp s is kept (no decomposition) */
        {"STRA\xc3\x9f" "E strasse", 7, "[CLS] stra ##\xc3\x9f ##e strasse [SEP] [PAD]"},
        {"t-shirt.", 7, "[CLS] t - shirt . [SEP] [PAD]"},
        /* CJK ideographs stand alone */
        {"\xe4\xb8\xad\xe5\x9b\xbdman", 6, "[CLS] \xe4\xb8\xad \xe5\x9b\xbd man [SEP] [PAD]"},
        /* a word that cannot be cut is one [UNK], whole */
        {"xyz plays playx", 6, "[CLS] [UNK] play ##s [UNK] [SEP]"},
        /* tab, no-break space (whitespace); zero-width space, soft hyphen (control: dropped, joining) */
        {"\tthe\xc2\xa0man\xe2\x80\x8b s\xc2\xad" "a", 6, "[CLS] the man s ##a [SEP]"},
        /* truncation keeps the first pieces, even inside a word, and ends with [SEP] */
        {"the man plays", 5, "[CLS] the man play [SEP]"},
        {"", 3, "[CLS] [SEP] [PAD]"},
        /* a malformed byte reads as U+FFFD, which is dropped */
        {"th\xff" "e \xc3", 4, "[CLS] the [SEP] [PAD]"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        const char *got = encoded(&t, v[i].text, v[i].max_len);
        CHECK(!strcmp(got, v[i].want), "'%s': got '%s', want '%s'", v[i].text, got, v[i].want);
    }
    /* 100 characters are cut into pieces; 101 are one [UNK] */
    char longw[102];
    memset(longw, 'a', 101), longw[100] = 0;
    int32_t ids[128];
    uint8_t mask[128];
    int n = tokenizer_encode(&t, longw, 128, ids, mask);
    CHECK(n == 102 && ids[1] == tokenizer_id(&t, "a") && ids[100] == tokenizer_id(&t, "##a"), "100 a: %d tokens", n);
    longw[100] = 'a', longw[101] = 0;
    n = tokenizer_encode(&t, longw, 128, ids, mask);
    CHECK(n == 3 && ids[1] == t.unk, "101 a: %d tokens, ids[1] %d", n, ids[1]);
    /* decoding joins the ## pieces and skips [CLS] [SEP] [PAD] */
    n = tokenizer_encode(&t, "The man's playing, UNaffable!", 16, ids, mask);
    char *text = tokenizer_decode(&t, ids, 16);
    CHECK(!strcmp(text, "the man ' s playing , unaffable !"), "decoded '%s'", text);
    free(text);
    tokenizer_free(&t);
}

/* The basic tokenisation alone, where no vocabulary is involved. */
static void test_basic(void) {
    static const struct {
        const char *text, *want;
    } v[] = {
        {"  Hello,world!  ", "hello , world !"},
        {"\xc2\xbfQu\xc3\xa9?", "\xc2\xbf que ?"},       /* inverted question mark: punctuation */
        {"a\xc3\x97" "b \xc2\xb5", "a\xc3\x97" "b \xc2\xb5"}, /* multiplication sign, micro: not punctuation */
        {"$5+3^2", "$ 5 + 3 ^ 2"},                          /* BERT counts all ASCII symbols */
        {"x\xe2\x80\xa8y\xe3\x80\x80z", "x y z"},          /* line separator, ideographic space */
        {"\xc4\xb0stanbul \xc3\x86sir", "istanbul \xc3\xa6sir"},
        {"\xce\x91\xce\xb2", "\xce\x91\xce\xb2"},           /* Greek is kept as it is (io_wordpiece.h) */
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *got = wordpiece_basic(v[i].text);
        CHECK(!strcmp(got, v[i].want), "'%s': got '%s', want '%s'", v[i].text, got, v[i].want);
        free(got);
    }
}

/* Append token to the lines of extra (at *o) unless base_vocab has it. */
static void vocab_add(char *extra, size_t n, size_t *o, const char *token) {
    for (int i = 0; i < N_BASE; i++)
        if (!strcmp(base_vocab[i], token)) return;
    *o += (size_t)snprintf(extra + *o, n - *o, "%s\n", token);
}

/* The vocabulary the reference comparison uses: base_vocab, every letter
 * and digit with its ## piece, and the few non-ASCII letters the basic
 * tokenisation leaves (so that words holding them are cut, not [UNK]). */
static void reference_vocab(Tokenizer *t, const char *path) {
    char extra[4096] = "", tok[16];
    size_t o = 0;
    static const char *const more[] = {"\xc3\xa6", "\xc3\xb8", "\xc3\x9f", "\xc4\x91", "\xc5\x82",
                                       "\xc5\x93", "\xc3\xb0", "\xc3\xbe", "\xc4\xb1"};
    for (const char *c = "abcdefghijklmnopqrstuvwxyz0123456789"; *c; c++) {
        snprintf(tok, sizeof tok, "%c", *c), vocab_add(extra, sizeof extra, &o, tok);
        snprintf(tok, sizeof tok, "##%c", *c), vocab_add(extra, sizeof extra, &o, tok);
    }
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        snprintf(tok, sizeof tok, "%s", more[i]), vocab_add(extra, sizeof extra, &o, tok);
        snprintf(tok, sizeof tok, "##%s", more[i]), vocab_add(extra, sizeof extra, &o, tok);
    }
    static const char *const words[] = {"ab", "##cd", "\xe2\x80\xa6", "\xe3\x80\x82", "\xc2\xab"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) vocab_add(extra, sizeof extra, &o, words[i]);
    vocab_make(t, base_vocab, N_BASE, extra);
    FILE *f = fopen_check(path, "w");
    if (!f) die("%s", err_msg());
    for (int i = 0; i < t->n; i++) fprintf(f, "%s\n", t->words[i]);
    fclose(f);
}

static void test_against_reference(void) {
    if (access("/usr/bin/python3", X_OK) != 0) {
        printf("  skipped: no /usr/bin/python3 for tests/wordpiece_reference.py\n");
        return;
    }
    Tokenizer t;
    reference_vocab(&t, tmp_path("vocab.txt"));
    const char *src = __FILE__, *slash = strrchr(src, '/');
    char *out = NULL;
    int rc = proc_run(&out, "/usr/bin/python3 '%.*swordpiece_reference.py' '%s' '%s'", slash ? (int)(slash + 1 - src) : 0,
                      src, tmp_path("vocab.txt"), tmp_path("cases.jsonl"));
    CHECK(rc == 0, "wordpiece_reference.py exited with %d: %s", rc, out);
    free(out);
    FILE *f = rc == 0 ? fopen_check(tmp_path("cases.jsonl"), "r") : NULL;
    char *line = NULL;
    size_t cap = 0;
    int cases = 0, basic_bad = 0, ids_bad = 0, pieces = 0;
    for (int lineno = 1; f && getline(&line, &cap, f) > 0; lineno++) {
        json_t *j = json_read_text(line, "cases.jsonl");
        const char *text = json_string_value(json_object_get(j, "text"));
        const char *basic = json_string_value(json_object_get(j, "basic"));
        int max_len = (int)json_integer_value(json_object_get(j, "max_len"));
        const json_t *want = json_object_get(j, "ids");
        CHECK(text && basic && max_len >= 2 && max_len <= 128 && json_array_size(want) == (size_t)max_len,
              "cases.jsonl:%d malformed", lineno);
        if (!text || !basic || max_len < 2 || max_len > 128 || json_array_size(want) != (size_t)max_len) {
            json_decref(j);
            break;
        }
        char *got = wordpiece_basic(text);
        if (strcmp(got, basic) && basic_bad++ < 5) CHECK(0, "basic '%s': got '%s', BERT's '%s'", text, got, basic);
        free(got);
        int32_t ids[128];
        uint8_t mask[128];
        tokenizer_encode(&t, text, max_len, ids, mask);
        int same = 1;
        for (int i = 0; i < max_len; i++) {
            same &= ids[i] == json_integer_value(json_array_get(want, i));
            pieces += !strncmp(t.words[ids[i]], "##", 2);
        }
        if (!same && ids_bad++ < 5) CHECK(0, "ids of '%s' (max_len %d) differ from BERT's", text, max_len);
        cases++;
        json_decref(j);
    }
    free(line);
    if (f) fclose(f);
    printf("  %d texts against BERT's algorithm: %d basic and %d id sequences differ (%d ## pieces)\n", cases,
           basic_bad, ids_bad, pieces);
    CHECK(cases > 1000 && basic_bad == 0 && ids_bad == 0 && pieces > 100, "%d cases", cases);
    tokenizer_free(&t);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) die("mkdtemp %s failed", tmp_dir);
    RUN(test_specials_by_name);
    RUN(test_from_checkpoint);
    RUN(test_hand_vectors);
    RUN(test_basic);
    RUN(test_against_reference);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
