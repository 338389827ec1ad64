#include "nn_backbone.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

const char *const linear_kind_names[LIN_KINDS] = {"q", "k", "v", "proj", "fc1", "fc2"};

int backbone_targets_parse(const char *s, unsigned *mask) {
    *mask = 0;
    if (!strcmp(s, "all")) {
        *mask = (1u << LIN_KINDS) - 1;
        return 0;
    }
    const char *p = s;
    while (*p) {
        if (*p == ',') {
            p++;
            continue;
        }
        int found = 0;
        /* longest names first, so "proj" is not read as nothing */
        for (int k = LIN_KINDS - 1; k >= 0 && !found; k--) {
            size_t n = strlen(linear_kind_names[k]);
            if (!strncmp(p, linear_kind_names[k], n)) {
                *mask |= TARGET_BIT(k);
                p += n;
                found = 1;
            }
        }
        if (!found)
            return err_set("--targets %s: unknown projection at '%s' (use q, k, v, proj, fc1, fc2 or all)", s, p);
    }
    if (!*mask) return err_set("--targets: empty");
    return 0;
}

void backbone_targets_format(unsigned mask, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = 0;
    int multi = 0;
    for (int k = 0; k < LIN_KINDS; k++)
        if ((mask & TARGET_BIT(k)) && strlen(linear_kind_names[k]) > 1) multi = 1;
    for (int k = 0; k < LIN_KINDS; k++) {
        if (!(mask & TARGET_BIT(k))) continue;
        len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s%s", (multi && len) ? "," : "",
                                linear_kind_names[k]);
    }
}
