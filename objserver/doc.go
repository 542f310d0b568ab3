// Package objserver is leakgate's fault-injecting object server: a small
// HTTP/1.1 server on loopback that serves a bucket folder (the same folder,
// laid out the same way, as fakecli's LEAKGATE_BUCKET) to the real storage
// CLIs, aws and curl, and misbehaves on the wire as a fault plan (package
// faults) says. Every request is journaled (package journal) with the client
// process that sent it. cmd/objserver is its main (os.Exit(objserver.Main(os.Args))).
//
//	srv, err := objserver.New(objserver.Config{Root: "/tmp/bucket", Plan: plan, Journal: "/tmp/run/requests.jsonl"})
//	ln, err := net.Listen("tcp", "127.0.0.1:0")
//	go srv.Serve(ln)
//	defer srv.Close()
//
// # Requests
//
// S3, path style (what `aws --endpoint-url http://127.0.0.1:PORT s3 …`
// sends for an IP endpoint); signatures are not checked, so any
// credentials do. S3 bucket B is the folder ROOT/B, key K the file
// ROOT/B/K:
//
//	GET    /B/K                     GetObject (a Range "bytes=a-b" gets 206, served without faults)
//	HEAD   /B/K                     HeadObject
//	PUT    /B/K                     PutObject; the body may be aws-chunked (x-amz-content-sha256: STREAMING-…); Content-MD5 is checked if sent
//	POST   /B/K?uploads             CreateMultipartUpload ┐
//	PUT    /B/K?partNumber=N&uploadId=U  UploadPart        │ what `aws s3 cp - s3://…` sends for a
//	POST   /B/K?uploadId=U          CompleteMultipartUpload │ stream of 8 MiB and more
//	DELETE /B/K?uploadId=U          AbortMultipartUpload  ┘
//	PUT    /B/K + x-amz-copy-source CopyObject ┐ `aws s3 mv`; from 8 MiB on, mv
//	DELETE /B/K                     DeleteObject ┘ asks GET /B/K?tagging (an empty
//	                                set) and copies with multipart UploadPartCopy
//	                                (PUT ?partNumber&uploadId + x-amz-copy-source[-range])
//	GET    /B?list-type=2           ListObjectsV2 (`aws s3 ls`): prefix, delimiter, max-keys, start-after, continuation-token, encoding-type=url
//	HEAD   /B, PUT /B, GET /        HeadBucket, CreateBucket, ListBuckets
//
// Errors are S3's XML documents (NoSuchKey, NoSuchBucket, NoSuchUpload,
// InvalidPart, BadDigest, InvalidRange, NotImplemented for anything else,
// ?acl and the other sub-resources included).
//
// Plain object URLs in the shape of an OCI pre-authenticated request, for
// helm-oci.yaml (`curl -s "$ENDPOINT$ACCESS_URI/$SUB_DIR/$FILE_HANDLE"`,
// ACCESS_URI = AccessURI(bucket) = /p/leakgate/n/leakgate/b/BUCKET/o/):
//
//	GET, HEAD    /p/…/b/B/o/NAME    the object (404 {"code":"ObjectNotFound",…})
//	PUT, POST    /p/…/b/B/o/NAME    store the body
//	DELETE       /p/…/b/B/o/NAME    remove it
//	GET          /p/…/b/B/o/?prefix=P   {"objects":[{"name":…,"size":…,"timeModified":…}]}
//
// NAME may start with slashes (helm-oci.yaml writes ".../o//SUB_DIR/…");
// they are dropped to find the file, and a listing whose prefix starts with
// a slash reports names with one, which is what the config's python line
// expects ("/".join(name.split("/")[2:])).
//
// Writes are atomic (a temporary ".objserver-tmp-…" file in the object's
// folder, then rename). Every key, copy source, bucket name and listing
// prefix resolves inside the root, on every route: one that would resolve
// outside (a ".." component, raw or percent-encoded, an absolute path, a
// symlink pointing out) is refused as fakecli refuses it (fakecli.Bucket),
// 400 InvalidArgument (InvalidParameter on the plain API) naming the key.
// A listing walks only the folder its prefix names, resolved as a key.
//
// An upload body that ends before its Content-Length is 400
// IncompleteBody, one that stops sending for Config.BodyTimeout 400
// RequestTimeout, a malformed aws-chunked body 400 InvalidRequest; none
// stores anything.
//
// # Faults on the wire
//
// For each request objserver asks the plan about faults.Call{N, Op, Handle}:
// N the call number (journal.NextCall, shared with fakecli on one journal),
// Handle the bucket-relative key ("B/K"; "" for listings), Op read (GET,
// HEAD of an object), write (PUT, POST, multipart), list (listings), move
// (copy, delete) or other. The first matching rule acts:
//
//	status code=N   the response is status N with an error body (S3 XML or
//	                JSON), on every request it matches, HEAD included: a
//	                client that retries meets it on every attempt
//	reset after=0   the connection is reset (RST, SO_LINGER 0) before the
//	                status line
//	reset after=S   headers with the full Content-Length, S body bytes, RST
//	stall after=0   nothing is sent for the pause (for=, or until the stall
//	                cap, the client leaving or Close); then, if the pause
//	                ended before the cap, the whole response; else the
//	                connection drops
//	stall after=S   headers, S body bytes, the pause, then the rest
//	truncate …      headers with the full Content-Length, the bytes the
//	                truncate script writes (record=K: cut inside record K,
//	                re-gzipped), then FIN: the connection closes before
//	                Content-Length
//	slow rate=R     the body paced at R bytes per second (pieces every 20ms);
//	                at the stall cap the connection drops, short; after
//	                Server.Hurry (SIGUSR1) the rest goes at once
//	corrupt …       the damaged object, whole, with its own Content-Length
//	                (the ETag stays the stored object's MD5)
//
// Faults that act on body bytes (truncate, corrupt, slow, and reset and
// stall with after > 0) apply only to responses that carry the object or a
// listing: a HEAD, an upload or a copy of a matched handle is served as
// usual and the journal shows no fault for it. exit (a process status) has
// no meaning on the wire, nor truncate's exit=: New refuses them
// (ErrNotNetwork). A fault that does not fit (record=9 of a 3-record
// object) answers 500 and says why in the journal.
//
// # Journal
//
// Each request appends a start entry before any work and an end entry when
// it is answered (or the client left, or the server closed), as fakecli's
// invocations do, in journal's format. The fields mean:
//
//	pid, ppid, pgid, persona  the client process (found by its socket, see
//	                          Peer): "aws", "curl"; persona "objserver" and
//	                          pid 0 if it could not be found
//	run                       the client's LEAKGATE_RUN
//	argv                      [method, request URI]: ["GET", "/b/e1/0-.chunk"]
//	op, handle, fault         as for the plan; fault only if it acted
//	exit                      the HTTP status sent; 0 if none (reset or
//	                          stall before the status line)
//	bytes                     body bytes sent (received, for uploads)
//	error                     what happened besides: the fault's act, "client
//	                          went away after N of M bytes", "stall cap …
//	                          reached", an error response's code
//
// A client's retries are its repeated requests for one handle.
//
// # Limits
//
// Objects are streamed from their files (a 1 GiB GET peaks at about 9 MB
// RSS), their MD5 cached per file version; only a fault that rewrites the
// body (truncate, corrupt, slow, reset or stall after > 0) loads it, and
// refuses one over MaxFaultBody (256 MiB) with 500, as a fault that does
// not fit. A client may take Config.ReadHeaderTimeout (10s) to send its
// headers (at most 64 KiB), pause Config.BodyTimeout (1m) between pieces
// of a body, and keep an idle connection Config.IdleTimeout (2m); Main's
// -read-header-timeout, -body-timeout and -idle-timeout set them. No
// timeout bounds a response: LEAKGATE_STALL_CAP bounds every pause and
// paced send of a fault, counted from the request's start. An aws-chunked
// header or trailer line is at most 4 KiB, and at most 64 trailer lines.
// A journal objserver cannot open for writing (or that is not a regular
// file) is refused by New. Messages quote outside text escaped and cut
// (internal/clip).
//
// HTTP/1.1 without TLS, IPv4 loopback for the client lookup, no tags,
// ACLs or versioning, no authentication.
package objserver
