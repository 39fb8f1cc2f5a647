/* echod: a test daemon (never installed), the echo stream input on the generic core. */
#include "reactor/daemon.h"
#include "tests/stream_daemon/input_echo.h"

int main(int argc, char **argv)
{
	/* nfacctd's keys and bit: the endpoint is nfacctd_ip/nfacctd_port */
	static const struct daemon_desc echod = {"echod", D_NFACCTD, &input_echo,
						 &out_schema_nfacctd};
	return daemon_run(&echod, argc, argv);
}
