package main

import (
	"k8s.io/component-base/cli"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

// Each as cmd/<program>/<program>.go in k8s.io/kubernetes does: build the cobra command, run it through cli.Run.

func runAPIServer([]string) int { return cli.Run(apiserver.NewAPIServerCommand()) }

func runControllerManager([]string) int {
	return cli.Run(controllermanager.NewControllerManagerCommand())
}

func runScheduler([]string) int { return cli.Run(scheduler.NewSchedulerCommand()) }
