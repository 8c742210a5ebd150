// Little CMS 2 (liblcms2-dev): ICC colour transforms, used only by CImageCodecShims.
#include <lcms2.h>
