/* pmacctd: libpcap packet accounting (live or pcap_savefile), one descriptor on the generic core.
 */
#include "reactor/daemon.h"
#include "reactor/input_packet.h"

int main(int argc, char **argv)
{
	static const struct daemon_desc pmacctd = {"pmacctd", D_PMACCTD, &input_pcap,
						   &out_schema_pmacctd};
	return daemon_run(&pmacctd, argc, argv);
}
