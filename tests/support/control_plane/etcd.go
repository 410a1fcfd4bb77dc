package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

// etcdmain.Main is etcd's own entry point (flags as the etcd binary takes them); it exits by itself.
func runEtcd([]string) int {
	etcdmain.Main(os.Args)
	return 0
}
