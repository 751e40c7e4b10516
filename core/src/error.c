/* error.c - the error table's two readers. */
#include "dni.h"

const char *dni_strerror(int err)
{
    switch (err) {
    case DNI_OK:
        return "success";
#define DNI__ERR_TEXT(name, code, text)                                        \
    case (code):                                                               \
        return text;
        DNI_ERRNO_MAP(DNI__ERR_TEXT)
#undef DNI__ERR_TEXT
    default:
        return "unknown error";
    }
}

const char *dni_err_name(int err)
{
    switch (err) {
    case DNI_OK:
        return "DNI_OK";
#define DNI__ERR_NAME(name, code, text)                                        \
    case (code):                                                               \
        return "DNI_" #name;
        DNI_ERRNO_MAP(DNI__ERR_NAME)
#undef DNI__ERR_NAME
    default:
        return "DNI_EUNKNOWN";
    }
}
