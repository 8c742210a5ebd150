// A plain main() for fuzz_codecs.c: runs LLVMFuzzerTestOneInput on each file named on the command
// line. Used by scripts/leakcheck.sh (under valgrind) and to replay fuzzer findings without libFuzzer.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    int failures = 0;
    for (int i = 1; i < argc; i++) {
        FILE *file = fopen(argv[i], "rb");
        if (!file) { perror(argv[i]); failures++; continue; }
        fseek(file, 0, SEEK_END);
        long length = ftell(file);
        fseek(file, 0, SEEK_SET);
        uint8_t *data = malloc(length > 0 ? (size_t)length : 1);
        size_t got = data ? fread(data, 1, (size_t)length, file) : 0;
        fclose(file);
        if (!data || got != (size_t)length) { fprintf(stderr, "%s: read failed\n", argv[i]); free(data); failures++; continue; }
        LLVMFuzzerTestOneInput(data, got);
        free(data);
    }
    printf("replayed %d file(s)\n", argc - 1 - failures);
    return failures ? 1 : 0;
}
