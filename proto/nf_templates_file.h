/*
 * nfacctd_templates_file: v9/IPFIX templates persisted across restarts.
 *
 * The file is JSON:
 *   {"format": "netacct-nf-templates", "version": 1,
 *    "exporters": [{"addr": "192.0.2.1", "port": 2055,
 *                   "templates": [{"export_version": 10, "domain": 0, "id": 256,
 *                                  "options": false, "scope_fields": 0,
 *                                  "fields": [[type, length, pen], ...]}]}]}
 * Only the wire definitions are stored; decode plans are rebuilt on load
 * against the running configuration (aggregate_primitives may have changed).
 */
#ifndef NETACCT_PROTO_NF_TEMPLATES_FILE_H
#define NETACCT_PROTO_NF_TEMPLATES_FILE_H

#include <jansson.h>
#include <stddef.h>

#include "proto/netflow.h"

#define NF_TEMPLATES_FORMAT  "netacct-nf-templates"
#define NF_TEMPLATES_VERSION 1

/*
 * Write the templates of every exporter of c to path, atomically (a
 * temporary file in the same directory, then rename).  Returns 0, or -1 with
 * a reason naming the path in err.
 */
int nf_templates_save(const char *path, struct nf_collector *c, char *err, size_t errlen);

/*
 * The pieces of nf_templates_save, for a daemon whose exporters are spread
 * over several collectors: one exporter's entry ({"addr", "port",
 * "templates"}; NULL when it has no templates or on allocation failure), and
 * the atomic write of a document holding an array of such entries.
 */
json_t *nf_templates_exporter_json(const struct nf_exporter *ex);
int nf_templates_write(const char *path, json_t *exporters, char *err, size_t errlen);

/*
 * Load templates from path into c (exporters are created as needed).  The
 * whole file is validated before anything is installed: a corrupt or foreign
 * file returns -1 with the reason in err and leaves c untouched.  A missing
 * file is not an error (first start): returns 0 with *loaded = 0.
 * *loaded counts the templates added to c (a repeated entry counts once).
 * Exporters beyond opt.max_exporters are skipped, not an error.
 * template_changed is not called for loaded templates.  loaded may be NULL.
 */
int nf_templates_load(const char *path, struct nf_collector *c, size_t *loaded, char *err,
		      size_t errlen);

#endif
