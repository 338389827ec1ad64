#include "io_jpeg_error.h"

static void jpeg_error_exit(j_common_ptr cinfo) {
    JpegError *e = (JpegError *)cinfo->err;
    cinfo->err->format_message(cinfo, e->message);
    longjmp(e->jump, 1);
}

/* Level -1 is a warning about damaged data: treat it as an error. Trace
 * messages (level >= 0) are ignored. */
static void jpeg_error_message(j_common_ptr cinfo, int level) {
    if (level < 0) jpeg_error_exit(cinfo);
}

struct jpeg_error_mgr *jpeg_error_init(JpegError *e) {
    jpeg_std_error(&e->mgr);
    e->mgr.error_exit = jpeg_error_exit;
    e->mgr.emit_message = jpeg_error_message;
    return &e->mgr;
}
