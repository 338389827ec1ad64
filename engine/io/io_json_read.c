#include "io_json_read.h"

#include "check.h"

#include <inttypes.h>
#include <stdio.h>

json_t *json_read_file(const char *path) {
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (!root) {
        if (e.line > 0) err_set("%s:%d:%d: malformed JSON: %s", path, e.line, e.column, e.text);
        else err_set("%s: %s", path, e.text);
    }
    return root;
}

json_t *json_read_text(const char *text, const char *ctx) {
    json_error_t e;
    json_t *root = json_loads(text, 0, &e);
    if (!root) err_set("%s: malformed JSON at column %d: %s", ctx, e.column, e.text);
    return root;
}

int json_need_object(const json_t *v, const char *ctx) {
    return json_is_object(v) ? 0 : err_set("%s: expected a JSON object", ctx);
}

/* The member key of obj or NULL after err_set. */
static json_t *json_member(const json_t *obj, const char *key, const char *ctx) {
    json_t *v = json_object_get(obj, key);
    if (!v) err_set("%s: missing field '%s'", ctx, key);
    return v;
}

int json_need_str(const json_t *obj, const char *key, const char *ctx, const char **out) {
    json_t *v = json_member(obj, key, ctx);
    if (!v) return -1;
    if (!json_is_string(v)) return err_set("%s: field '%s' is not a string", ctx, key);
    *out = json_string_value(v);
    return 0;
}

int json_need_int(const json_t *obj, const char *key, const char *ctx, int64_t *out) {
    json_t *v = json_member(obj, key, ctx);
    if (!v) return -1;
    if (!json_is_integer(v)) return err_set("%s: field '%s' is not an integer", ctx, key);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

int json_need_num(const json_t *obj, const char *key, const char *ctx, double *out) {
    json_t *v = json_member(obj, key, ctx);
    if (!v) return -1;
    if (!json_is_number(v)) return err_set("%s: field '%s' is not a number", ctx, key);
    *out = json_number_value(v);
    return 0;
}

int json_need_array(const json_t *obj, const char *key, const char *ctx, json_t **out) {
    json_t *v = json_member(obj, key, ctx);
    if (!v) return -1;
    if (!json_is_array(v)) return err_set("%s: field '%s' is not an array", ctx, key);
    *out = v;
    return 0;
}

int json_opt_text(const json_t *obj, const char *key, const char *ctx, char **out) {
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) return 0;
    if (json_is_string(v)) {
        *out = xstrdup(json_string_value(v));
    } else if (json_is_integer(v)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%" PRId64, (int64_t)json_integer_value(v));
        *out = xstrdup(buf);
    } else {
        return err_set("%s: field '%s' is neither a string nor an integer", ctx, key);
    }
    return 0;
}
