/* Placeholder until the v9/IPFIX decoder lands: counts the datagram as unsupported. */
#include "proto/netflow.h"

enum nf_err nf9_decode(struct nf_collector *c, struct nf_exporter *ex, const uint8_t *buf,
		       size_t len, nt_usec arrival)
{
	(void)c; (void)ex; (void)buf; (void)len; (void)arrival;
	return NF_ERR_VERSION;
}

enum nf_err nf8_decode(struct nf_collector *c, struct nf_exporter *ex, const uint8_t *buf,
		       size_t len, nt_usec arrival)
{
	(void)c; (void)ex; (void)buf; (void)len; (void)arrival;
	return NF_ERR_VERSION;
}

void nf9_exporter_free(struct nf_exporter *ex) { (void)ex; }
