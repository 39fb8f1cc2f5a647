/* sfacctd: sFlow v2/v4/v5 collector, one descriptor on the generic core. */
#include "reactor/daemon.h"
#include "reactor/input_sflow.h"

int main(int argc, char **argv)
{
	static const struct daemon_desc sfacctd = {"sfacctd", D_SFACCTD, &input_sflow,
						   &out_schema_sfacctd};
	return daemon_run(&sfacctd, argc, argv);
}
