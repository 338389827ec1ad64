/* libFuzzer harness: the png reader (see fuzz_readers.h). */
#include "fuzz_readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_read_png(data, size);
    return 0;
}
