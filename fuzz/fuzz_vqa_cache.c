/* libFuzzer harness: the VQA cache reader (see fuzz_readers.h). */
#include "fuzz_readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_read_vqa_cache(data, size);
    return 0;
}
