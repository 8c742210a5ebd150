#include "klingkit_codec_shims.h"
