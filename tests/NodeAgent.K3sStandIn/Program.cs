using NodeAgent.K3sStandIn;

// k3s-standin: what a K3s/RKE2 server does with its embedded etcd, on a real etcd child process
// (reference note k3s-etcd-start-join-reset.md; §7 lists what a stand-in must model and what it cannot).
//
// Modelled: the config merge (config.yaml + config.yaml.d/*.yaml, later wins, key+ appends, CLI wins);
// the new / join / existing decision keyed on db/etcd/member/wal; db/etcd/name = <node-name>-<8 hex>;
// join = member add as learner through the etcd of the server: URL's host, start "existing", retried
// every 1 s on "too many learner members"; the etcd leader promotes learners every promote period;
// the tombstone (backup dirs kept 5, the empty-server error, new name, join); self-tombstoning when etcd
// says the member was permanently removed; a token-keyed bootstrap marker and a CA id made at
// new-cluster time (server/tls/server-ca.crt), so a join to another cluster and a wrong-token restore
// fail; --cluster-reset [--cluster-reset-restore-path] with K3s's checks, etcd-old-<unix>, etcdctl
// snapshot restore, a new name, reset-flag, force-new-cluster, tls-<unix>, the success line, exit 0;
// K3s without cluster-init and without server: a fresh datastore (SQLite/kine in K3s) with a new CA.
//
// Not modelled: the apiserver, Nodes and controllers (reset-flag goes at the next ready start); the
// supervisor's /db/info and /cacerts (the join reads the member list and the bootstrap marker from the
// etcd on the server URL's host, port 2379); mTLS and real certificates (plaintext http, the CA is an
// opaque id); the loopback-only listener of a reset (every node shares this host's 127.0.0.1, so the
// node IP is used and --etcd-arg=advertise-client-urls is only logged); the 5-minute learner eviction;
// RKE2 static pods and force-restart; etcd 3.6 --max-learners; S3 and etcd-snapshot subcommands.
//
// Invoked as: k3s-standin --standin-runtime k3s|rke2 --standin-version V --standin-node-root DIR
//             [--standin-promote-period SECONDS] <k3s arguments...>
return await StandIn.RunAsync(args);
