// jpeglib.h uses FILE and size_t without including the headers that define them.
#include <stdio.h>
#include <stddef.h>
#include <jpeglib.h>
