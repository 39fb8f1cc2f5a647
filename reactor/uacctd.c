/* uacctd: packet accounting from Linux NFLOG, one descriptor on the generic core. */
#include "reactor/daemon.h"
#include "reactor/input_packet.h"

int main(int argc, char **argv)
{
	static const struct daemon_desc uacctd = {"uacctd", D_UACCTD, &input_nflog,
						  &out_schema_uacctd};
	return daemon_run(&uacctd, argc, argv);
}
