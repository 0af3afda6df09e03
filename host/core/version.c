/* The library's version at run time (clrnn_version.h holds the headers'). */
#include "clrnn.h"

const char *clrnn_version(void)
{
    return CLRNN_VERSION_STRING;
}
