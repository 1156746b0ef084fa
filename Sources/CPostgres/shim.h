// The system libpq (Debian: libpq-dev), the PostgreSQL client library of the scale-out store
// (docs/scale-out.md). The header lives in /usr/include/postgresql; its own includes are
// resolved next to it.
#include <postgresql/libpq-fe.h>
