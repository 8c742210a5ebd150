#include "klingkit_base64.h"
