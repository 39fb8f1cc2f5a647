/*
 * The memory table's wire protocol, between `pmacct` (the client) and a
 * `plugins: memory` instance, over a Unix stream socket (imt_path).  Text,
 * so it can be driven by hand with `socat - UNIX-CONNECT:/tmp/collect.pipe`.
 *
 * One query per connection.  The client sends lines "<name> <value>\n",
 * the first being the magic line, and ends the request with an empty line:
 *
 *   netacct-imt 1
 *   op show|match|counters|erase|status|since
 *   format json|csv|formatted      (show, match)
 *   sep <text>                     (csv separator, default ",")
 *   fields <p1>,<p2>,...           (match, counters: the primitives of -c)
 *   match <v1>,<v2>,...            (one per -M / -N request, values in `fields` order)
 *   counter bytes|packets|flows|all (counters: -n)
 *   sum 1                          (counters: -S, one line for all requests)
 *   top bytes|packets|flows <n>    (show, match: -T)
 *   reset 1                        (show, match, counters: -r, zero what was read)
 *
 * The server answers with one status line, then the body, then closes:
 *
 *   OK <entries>\n<body>           <entries>: rows shown / requests matched
 *   ERR <code> <message>\n         nothing else follows
 *
 * A request is limited to IMT_REQ_MAX bytes.  The reply is computed under
 * the table's lock (see out/memory.c) and sent after it is released.
 */
#ifndef NETACCT_OUT_IMT_PROTO_H
#define NETACCT_OUT_IMT_PROTO_H

#define IMT_MAGIC	 "netacct-imt 1"
#define IMT_REQ_MAX	 (1u << 20)
#define IMT_DEFAULT_PATH "/tmp/collect.pipe"
#define IMT_MATCH_MAX	 4096 /* requests (match lines) per query */
#define IMT_FIELDS_MAX	 32   /* primitives in `fields` */

/* ERR codes: the client maps them to its exit status. */
enum imt_err {
	IMT_ERR_REQUEST = 1,   /* malformed request (a client bug or a foreign client) */
	IMT_ERR_PRIMITIVE = 2, /* `fields` names a primitive the table does not hold */
	IMT_ERR_VALUE = 3,     /* a match has the wrong number of values or a bad value */
	IMT_ERR_INTERNAL = 4,  /* out of memory while answering */
};

#endif
