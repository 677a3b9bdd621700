// Command csi-s3 is a test-only CSI driver for S3 buckets, built for the
// local cluster (hack/lib/s3.sh) and never shipped. It mirrors the PV shape
// of yandex-cloud/k8s-csi-s3: volumeHandle <bucket>/<prefix>, credentials in
// the Secret named by nodeStageSecretRef and nodePublishSecretRef (keys
// accessKeyID, secretAccessKey, endpoint, region), volumeAttributes.mounter
// (s3fs or rclone) and volumeAttributes.options; with -bucket-from secret,
// datashim's csi-s3 instead: the bucket is the Secret's bucket key, mounted
// whole, as datashim's s3fs and rclone mounters do. Like k8s-csi-s3 it stages
// one FUSE mount per volume and node and bind-mounts it into each pod, so a
// producer's exit flushes nothing that the mounter has not flushed itself.
//
// It runs on the node as a host process beside the kubelet: it registers
// with the kubelet's plugin watcher, serves the CSI identity and node
// services, and provisions PVs for StorageClasses that name it.
package main

import (
	"context"
	"flag"
	"github.com/resultmaterialize/controller/pkg/objectstore"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	registration "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

func main() {
	name := flag.String("name", "ru.yandex.s3.csi", "the CSI driver name to register and provision for")
	kubeletDir := flag.String("kubelet-dir", "/var/lib/kubelet", "the kubelet's --root-dir")
	nodeID := flag.String("node", "", "this node's name")
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the provisioner")
	stateDir := flag.String("state", "", "directory for FUSE logs, pid files and rclone caches")
	bucketFrom := flag.String("bucket-from", objectstore.BucketFromVolumeHandle, "the PV shape: volumeHandle (<bucket>/<prefix>, k8s-csi-s3) or secret (the Secret's bucket and folder keys, datashim's csi-s3)")
	flag.Parse()
	if *nodeID == "" || *kubeconfig == "" || *stateDir == "" {
		log.Fatal("-node, -kubeconfig and -state are required")
	}
	if *bucketFrom != objectstore.BucketFromVolumeHandle && *bucketFrom != objectstore.BucketFromSecret {
		log.Fatalf("-bucket-from %q: want %s or %s", *bucketFrom, objectstore.BucketFromVolumeHandle, objectstore.BucketFromSecret)
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatalf("reading %s: %v", *kubeconfig, err)
	}
	kube, err := kubernetes.NewForConfig(config)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	endpoint := filepath.Join(*kubeletDir, "plugins", *name, "csi.sock")
	csiServer := grpc.NewServer()
	csi.RegisterIdentityServer(csiServer, identity{name: *name})
	csi.RegisterNodeServer(csiServer, &node{id: *nodeID, bucketFrom: *bucketFrom, mounts: newMounts(*stateDir)})
	registrar := grpc.NewServer()
	registration.RegisterRegistrationServer(registrar, registrant{name: *name, endpoint: endpoint})

	go serve(csiServer, endpoint)
	go serve(registrar, filepath.Join(*kubeletDir, "plugins_registry", *name+"-reg.sock"))
	go provisioner{name: *name, kube: kube}.run(ctx)
	<-ctx.Done()
	registrar.Stop()
	csiServer.Stop()
}

func serve(server *grpc.Server, socket string) {
	if err := os.MkdirAll(filepath.Dir(socket), 0o750); err != nil {
		log.Fatal(err)
	}
	if err := os.Remove(socket); err != nil && !os.IsNotExist(err) {
		log.Fatal(err)
	}
	listener, err := net.Listen("unix", socket)
	if err != nil {
		log.Fatalf("listening on %s: %v", socket, err)
	}
	if err := server.Serve(listener); err != nil {
		log.Fatalf("serving %s: %v", socket, err)
	}
}

// registrant answers the kubelet's plugin watcher, which finds the
// registration socket in plugins_registry and then dials the CSI endpoint.
type registrant struct {
	registration.UnimplementedRegistrationServer
	name, endpoint string
}

func (r registrant) GetInfo(context.Context, *registration.InfoRequest) (*registration.PluginInfo, error) {
	return &registration.PluginInfo{Type: registration.CSIPlugin, Name: r.name, Endpoint: r.endpoint, SupportedVersions: []string{"1.0.0"}}, nil
}

func (r registrant) NotifyRegistrationStatus(_ context.Context, status *registration.RegistrationStatus) (*registration.RegistrationStatusResponse, error) {
	if !status.PluginRegistered {
		log.Printf("the kubelet refused %s: %s", r.name, status.Error)
	}
	return &registration.RegistrationStatusResponse{}, nil
}

// identity is the CSI identity service.
type identity struct {
	csi.UnimplementedIdentityServer
	name string
}

func (i identity) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: i.name, VendorVersion: "test"}, nil
}

func (identity) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	return &csi.GetPluginCapabilitiesResponse{}, nil
}

func (identity) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, nil
}
