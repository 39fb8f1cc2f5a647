/*
 * Fuzz target for proto/decap.c.  Input: one byte choosing the link type
 * (low 3 bits) and small reassembly limits (high bits), then frames, each a
 * 2-byte big-endian length and that many bytes (the last one takes what is
 * left).  One decap context sees every frame, so fragments of one input
 * meet in the reassembly buffer; timestamps advance by one second a frame
 * and go back now and then.  Every returned payload is read in full.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/decap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decap d;
	struct decap_limits lim = {0};
	volatile uint64_t sum = 0;

	if (size < 1)
		return 0;
	if (data[0] & 0x80) {
		lim.max_datagrams = 1u + ((data[0] >> 3) & 3);
		lim.max_bytes = 4096u << ((data[0] >> 5) & 3);
		lim.timeout = 3000000;
	}
	if (decap_init(&d, (enum decap_link)(data[0] & 7), &lim) < 0)
		return 0;
	size_t i = 1;
	nt_usec ts = 1000000000;
	while (i < size) {
		size_t n = size - i;
		if (n >= 2) {
			size_t want = (size_t)data[i] << 8 | data[i + 1];
			i += 2;
			n = size - i < want ? size - i : want;
		} else {
			i += n;
			n = 0;
		}
		/* an exact-size copy: ASan sees any read past the frame */
		uint8_t *frame = malloc(n ? n : 1);
		if (!frame)
			break;
		memcpy(frame, data + i, n);
		struct decap_udp u;
		if (decap_frame(&d, frame, n, ts, &u) == DECAP_DATAGRAM) {
			for (size_t k = 0; k < u.len; k++)
				sum += u.payload[k];
			sum += u.sport + u.dport + u.src.a[0] + u.dst.a[15];
		}
		free(frame);
		i += n;
		ts = (n & 7) == 7 ? ts - 5000000 : ts + 1000000;
	}
	decap_free(&d);
	(void)sum;
	return 0;
}
