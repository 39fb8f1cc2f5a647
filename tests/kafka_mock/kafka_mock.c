/*
 * kafka_mock: a Kafka-protocol broker for the tests, from librdkafka's mock
 * cluster (one broker on a random 127.0.0.1 port).
 *
 *   kafka_mock [TOPIC:PARTITIONS ...]
 *
 * Creates the topics, prints "bootstrap=HOST:PORT" and then "ready", and
 * serves until SIGTERM/SIGINT.  SIGUSR1 takes the broker down (connections
 * refused and dropped), SIGUSR2 brings it back, each acknowledged on stdout
 * ("down", "up") so a test can wait for the state change.  The data lives in
 * memory for the life of the process.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

int main(int argc, char **argv)
{
	char err[512];
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	/* block before librdkafka starts its threads, so only sigwait() sees them */
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
	if (!rk) {
		fprintf(stderr, "kafka_mock: %s\n", err);
		return 1;
	}
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
	if (!mc) {
		fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		char name[256];
		int parts = 1;
		if (sscanf(argv[i], "%255[^:]:%d", name, &parts) < 1 || parts < 1 ||
		    rd_kafka_mock_topic_create(mc, name, parts, 1)) {
			fprintf(stderr, "kafka_mock: bad topic '%s' (want NAME:PARTITIONS)\n",
				argv[i]);
			return 1;
		}
	}
	printf("bootstrap=%s\nready\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	for (;;) {
		int sig;
		if (sigwait(&set, &sig) != 0)
			break;
		if (sig == SIGUSR1) {
			rd_kafka_mock_broker_set_down(mc, 1);
			printf("down\n");
		} else if (sig == SIGUSR2) {
			rd_kafka_mock_broker_set_up(mc, 1);
			printf("up\n");
		} else {
			break;
		}
		fflush(stdout);
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
