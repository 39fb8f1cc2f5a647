/* echod: a test daemon (never installed), the echo stream input on the generic core. */
#include "conf/keys.h"
#include "out/output.h"
#include "reactor/daemon.h"
#include "tests/stream_daemon/input_echo.h"

/*
 * nfacctd's bit and its NetFlow keys (the endpoint is nfacctd_ip/nfacctd_port),
 * but no capture keys: a stream input has no use for pcap_savefile, so the
 * key is unknown here like any key a daemon does not have.
 */
static const struct conf_key_table *const echod_tables[] = {
    &conf_keys_core, &conf_keys_netflow, &conf_keys_plugin, &conf_keys_obsolete, NULL};
static const struct conf_schema echod_schema = {echod_tables, out_plugin_types};

int main(int argc, char **argv)
{
	static const struct daemon_desc echod = {"echod", D_NFACCTD, &input_echo, &echod_schema};
	return daemon_run(&echod, argc, argv);
}
