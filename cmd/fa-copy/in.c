/* fa-copy in: placeholder until the load engine lands. */
#include "facopy.h"

int copy_in(struct copy_args *a)
{
	return copy_fail(FA_EUSAGE, "in: not built yet");
}
