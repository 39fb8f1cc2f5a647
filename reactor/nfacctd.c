/* nfacctd: NetFlow v5/v8/v9 and IPFIX collector, one descriptor on the generic core. */
#include "reactor/daemon.h"
#include "reactor/input_netflow.h"

int main(int argc, char **argv)
{
	static const struct daemon_desc nfacctd = {"nfacctd", D_NFACCTD, &input_netflow,
						   &out_schema_nfacctd};
	return daemon_run(&nfacctd, argc, argv);
}
