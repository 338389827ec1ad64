/* The libjpeg error manager of every JPEG encoder and decoder: an error, or
 * a warning about damaged data (a truncated file, "Corrupt JPEG data"),
 * formats its message into message and longjmps to jump, instead of
 * libjpeg's exit() or a grey-filled image. Trace messages are ignored.
 *
 *   JpegError err;
 *   cinfo.err = jpeg_error_init(&err);
 *   if (setjmp(err.jump)) { destroy cinfo; return err_set("...: %s", err.message); }
 */
#ifndef MOIL_JPEG_ERROR_H
#define MOIL_JPEG_ERROR_H

#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} JpegError;

/* Set e up (jpeg_std_error with the handlers above); the manager to put in
 * cinfo.err. The caller sets e->jump with setjmp before any libjpeg call. */
struct jpeg_error_mgr *jpeg_error_init(JpegError *e);

#endif
