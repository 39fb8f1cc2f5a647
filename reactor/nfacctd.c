/* nfacctd: NetFlow v5/v8/v9 and IPFIX collector. */
#include "reactor/daemon.h"

int main(int argc, char **argv)
{
	static const struct conf_daemon nfacctd = {D_NFACCTD, "nfacctd"};
	return daemon_run(&nfacctd, argc, argv);
}
