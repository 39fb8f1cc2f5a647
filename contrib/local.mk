# systemd template units, with installation paths substituted.
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = contrib/systemd/nfacctd@.service
CLEANFILES += contrib/systemd/nfacctd@.service
contrib/systemd/nfacctd@.service: $(srcdir)/contrib/systemd/nfacctd@.service.in Makefile
	@$(MKDIR_P) contrib/systemd
	$(AM_V_GEN)sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    -e 's|@docdir[@]|$(docdir)|g' $(srcdir)/contrib/systemd/nfacctd@.service.in > $@

examplesdir = $(docdir)/examples
examples_DATA = contrib/examples/nfacctd.conf contrib/examples/demo.conf \
	contrib/examples/tee.conf contrib/examples/tee_receivers.lst \
	contrib/kafka/consumer.py contrib/kafka/clickhouse.sql contrib/amqp/consumer.py \
	contrib/examples/sfacctd.conf
dist_doc_DATA = docs/CONFIG-KEYS.md
dist_man_MANS = docs/nfacctd.8
