/*
 * The kafka output's shared part: librdkafka properties from a file, for the
 * kafka plugin (kafka_config_file) and the tee's Kafka pools
 * (tee_kafka_config_file).
 */
#ifndef NETACCT_OUT_KAFKA_H
#define NETACCT_OUT_KAFKA_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

/*
 * Set the properties of the file at path on kc: `key=value` lines, or
 * pmacct's `global|topic, key, value` lines; '#' and '!' start comments.
 * Returns 0, or -1 with "path:line: reason".
 */
int kafka_props_load(const char *path, rd_kafka_conf_t *kc, char *err, size_t errlen);

#endif
