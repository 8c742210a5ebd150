// Private to CImageCodecShims: a small buffered writer to a file descriptor, shared by the streaming
// PNG and JPEG encoders. The buffer is fixed (KK_FD_BUFFER bytes), so an encoder's output costs that
// much memory however large the image is.
#pragma once

#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#define KK_FD_BUFFER 65536

typedef struct kk_fd_output {
    int fd;
    int error;                      ///< errno of the first failed write(2), 0 while all is well
    size_t used;                    ///< bytes waiting in `buffer`
    unsigned long long written;     ///< bytes handed to the kernel so far
    unsigned char buffer[KK_FD_BUFFER];
} kk_fd_output;

/// Writes all of `data` to the descriptor, retrying after EINTR and short writes. Returns 0 or errno.
static inline int kk_fd_write_all(int fd, const unsigned char *data, size_t size) {
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (n == 0) return EIO;
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

/// Sends the buffered bytes to the descriptor. Returns 0 or errno (kept in `output->error`).
static inline int kk_fd_flush(kk_fd_output *output) {
    if (output->error) return output->error;
    if (output->used == 0) return 0;
    int code = kk_fd_write_all(output->fd, output->buffer, output->used);
    if (code) {
        output->error = code;
        return code;
    }
    output->written += output->used;
    output->used = 0;
    return 0;
}

/// Appends `size` bytes, flushing whenever the buffer fills. Returns 0 or errno.
static inline int kk_fd_append(kk_fd_output *output, const unsigned char *data, size_t size) {
    while (size > 0) {
        if (output->error) return output->error;
        size_t room = KK_FD_BUFFER - output->used;
        size_t n = size < room ? size : room;
        memcpy(output->buffer + output->used, data, n);
        output->used += n;
        data += n;
        size -= n;
        if (output->used == KK_FD_BUFFER && kk_fd_flush(output)) return output->error;
    }
    return 0;
}

/// "write failed: <strerror>" into `message` (size `capacity`).
static inline void kk_fd_describe(int code, char *message, size_t capacity) {
    snprintf(message, capacity, "write failed: %s", strerror(code));
}
