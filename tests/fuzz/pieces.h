/*
 * pieces.h: how the fuzz targets that feed a stream parser cut their
 * input, so that fed in pieces it must give what it gives fed whole.
 */
#ifndef FA_FUZZ_PIECES_H
#define FA_FUZZ_PIECES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The next piece's length: all that is left when whole, else 1 to 16
   bytes from the xorshift state *x (seeded non-zero by the caller). */
static inline size_t fuzz_piece(uint32_t *x, bool whole, size_t left)
{
	size_t len;

	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	len = whole ? left : 1 + *x % 16;
	return len > left ? left : len;
}

#endif
