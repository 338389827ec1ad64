/* Reading JSON files with errors that name the file and the place.
 *
 * ctx arguments name where a value sits, e.g. "vqa/x.json: annotations[3]"
 * or "nlvr/dev.json:17"; messages read "<ctx>: missing field 'label'" or
 * "<ctx>: field 'label' is not a string". */
#ifndef MOIL_JSON_READ_H
#define MOIL_JSON_READ_H

#include <jansson.h>
#include <stdint.h>

/* Parse a whole file; on error "path:line:column: what" and NULL. */
json_t *json_read_file(const char *path);
/* Parse one text (a line of a JSON-lines file); errors are prefixed by ctx. */
json_t *json_read_text(const char *text, const char *ctx);
/* Fail unless v is an object. */
int json_need_object(const json_t *v, const char *ctx);
/* Required members of an object, checked for type. */
int json_need_str(const json_t *obj, const char *key, const char *ctx, const char **out);
int json_need_int(const json_t *obj, const char *key, const char *ctx, int64_t *out);
int json_need_num(const json_t *obj, const char *key, const char *ctx, double *out);
int json_need_array(const json_t *obj, const char *key, const char *ctx, json_t **out);
/* An optional member that may be a string or an integer, as a new string
 * (NULL when absent); fails when present with another type. */
int json_opt_text(const json_t *obj, const char *key, const char *ctx, char **out);

#endif
