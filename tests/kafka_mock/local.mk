# tests/kafka_mock: a Kafka-protocol broker (librdkafka's mock cluster) for the
# integration tests of the kafka output.
if HAVE_KAFKA
noinst_PROGRAMS += tests/kafka_mock/kafka_mock
tests_kafka_mock_kafka_mock_SOURCES = tests/kafka_mock/kafka_mock.c
tests_kafka_mock_kafka_mock_LDADD = $(KAFKA_LIBS) $(PTHREAD_LIBS)
endif
