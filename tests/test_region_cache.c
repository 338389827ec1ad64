/* The region feature cache: a write/read round trip, lookup by image id,
 * and clear errors on corrupt files (magic, version, truncation, sizes,
 * region counts). */
#include <unistd.h>

#include "check.h"
#include "io_region_cache.h"
#include "test.h"

static char dir[64];

static void fill(RegionCache *c) {
    region_cache_alloc(c, 3, 4, 5);
    for (int i = 0; i < 3; i++) {
        c->image_ids[i] = 1000 + 7 * i;
        c->n_regions[i] = i + 1;
        for (int r = 0; r <= i; r++) {
            c->tags[i * 4 + r] = 10 * i + r;
            for (int k = 0; k < 5; k++) c->feats[(i * 4 + r) * 5 + k] = 0.5f * i - 0.25f * r + 0.125f * k;
        }
    }
}

static void test_round_trip(void) {
    RegionCache a, b;
    fill(&a);
    char path[128];
    snprintf(path, sizeof path, "%s/ok.bin", dir);
    CHECK(region_cache_write(path, &a) == 0, "%s", err_msg());
    CHECK(region_cache_read(path, &b) == 0, "%s", err_msg());
    CHECK(b.n_images == 3 && b.max_regions == 4 && b.dim == 5, "sizes %d %d %d", b.n_images, b.max_regions, b.dim);
    if (b.n_images == 3) {
        CHECK(!memcmp(a.image_ids, b.image_ids, 3 * sizeof(int64_t)), "image ids");
        CHECK(!memcmp(a.n_regions, b.n_regions, 3 * sizeof(int)), "region counts");
        CHECK(!memcmp(a.tags, b.tags, 12 * sizeof(int)), "tags");
        CHECK(!memcmp(a.feats, b.feats, 60 * sizeof(float)), "features");
        CHECK(b.tags[3] == -1 && b.tags[1 * 4 + 2] == -1, "unused slots keep tag -1");
        CHECK(region_cache_find(&b, 1014) == 2 && region_cache_find(&b, 5) == -1, "find");
    }
    region_cache_free(&a);
    region_cache_free(&b);
}

/* Write the good file, change it with edit, and expect a read error
 * mentioning want. */
static void expect_corrupt(const char *name, long offset, const void *bytes, size_t n, long truncate_to,
                           const char *want) {
    RegionCache a, b;
    fill(&a);
    char path[128];
    snprintf(path, sizeof path, "%s/%s.bin", dir, name);
    CHECK(region_cache_write(path, &a) == 0, "%s", err_msg());
    FILE *f = fopen(path, "r+b");
    if (f && bytes) {
        fseek(f, offset, SEEK_SET);
        fwrite(bytes, 1, n, f);
    }
    if (f) fclose(f);
    if (truncate_to >= 0) CHECK(truncate(path, truncate_to) == 0, "truncate");
    CHECK(region_cache_read(path, &b) != 0, "%s: corrupt file accepted", name);
    CHECK(strstr(err_msg(), path) && strstr(err_msg(), want), "%s: message '%s' lacks '%s'", name, err_msg(), want);
    region_cache_free(&a);
}

static void test_corrupt(void) {
    uint32_t v2 = 2, big = 100000, many = 9;
    expect_corrupt("magic", 0, "XOILRGN", 7, -1, "bad magic");
    expect_corrupt("version", 8, &v2, 4, -1, "version 2");
    expect_corrupt("truncated", 0, NULL, 0, 100, "bytes, expected");
    expect_corrupt("short", 0, NULL, 0, 10, "bad magic");
    expect_corrupt("dim", 20, &big, 4, -1, "bad sizes");
    expect_corrupt("count", 24 + 8, &many, 4, -1, "has 9 regions");
    char path[128];
    RegionCache b;
    snprintf(path, sizeof path, "%s/missing.bin", dir);
    CHECK(region_cache_read(path, &b) != 0 && strstr(err_msg(), path), "missing file: %s", err_msg());
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/moil_test_region_cache_XXXXXX");
    if (!mkdtemp(dir)) die("mkdtemp %s failed", dir);
    RUN(test_round_trip);
    RUN(test_corrupt);
    const char *names[] = {"ok", "magic", "version", "truncated", "short", "dim", "count"};
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s.bin", dir, names[i]);
        remove(path);
    }
    rmdir(dir);
    return TEST_DONE();
}
