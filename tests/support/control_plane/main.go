// Command kcp is one multi-call binary holding a whole Kubernetes control plane for the tests:
//
//	kcp etcd ...                     embedded etcd (go.etcd.io/etcd/server/v3/etcdmain)
//	kcp kube-apiserver ...           k8s.io/kubernetes/cmd/kube-apiserver/app
//	kcp kube-controller-manager ...  k8s.io/kubernetes/cmd/kube-controller-manager/app
//	kcp kube-scheduler ...           k8s.io/kubernetes/cmd/kube-scheduler/app
//	kcp kwok ...                     sigs.k8s.io/kwok (fake nodes and pod status)
//	kcp kwok-stages                  kwok's default node and pod Stages, for kwok --config
//	kcp version                      the Kubernetes release it was built from
//
// One binary means one link instead of five, which is most of the build time on a small machine.
// The arguments after the program name are the program's own flags.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	_ "time/tzdata" // CronJob time zones, as the upstream kube-apiserver and controller-manager mains do

	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/component-base/version"
)

var programs = map[string]func(args []string) int{
	"etcd":                    runEtcd,
	"kube-apiserver":          runAPIServer,
	"kube-controller-manager": runControllerManager,
	"kube-scheduler":          runScheduler,
	"kwok":                    runKwok,
	"kwok-stages":             printKwokStages,
	"version": func([]string) int {
		fmt.Println(version.Get().GitVersion)
		return 0
	},
}

func usage() int {
	names := make([]string, 0, len(programs))
	for n := range programs {
		names = append(names, n)
	}
	fmt.Fprintf(os.Stderr, "usage: kcp PROGRAM [FLAGS...]\nprograms: %s\n", strings.Join(names, ", "))
	return 2
}

func main() {
	// Called through a symlink named after a program, or as `kcp PROGRAM ...`.
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if _, ok := programs[name]; !ok {
		if len(args) == 0 {
			os.Exit(usage())
		}
		name, args = args[0], args[1:]
	}
	run, ok := programs[name]
	if !ok {
		os.Exit(usage())
	}
	// The programs read os.Args themselves in places (cobra, etcd's flag set): make it look like a direct call.
	os.Args = append([]string{name}, args...)
	os.Exit(run(args))
}
