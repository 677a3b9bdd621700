package main

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// node is the CSI node service: stage mounts the bucket prefix once per
// volume on this node, publish bind-mounts that mount into a pod.
type node struct {
	csi.UnimplementedNodeServer
	id string
	// bucketFrom is the PV shape: where a volume's bucket and prefix are.
	bucketFrom string
	mounts     *mounts
	// locks serialise the changes to one volume: the kubelet may stage and
	// publish it for two pods at once. Other volumes go on meanwhile.
	locks sync.Map
}

// lock takes the volume's lock and returns its unlock.
func (n *node) lock(volumeID string) func() {
	mu, _ := n.locks.LoadOrStore(volumeID, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	return mu.(*sync.Mutex).Unlock
}

func (n *node) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: n.id}, nil
}

func (n *node) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{Capabilities: []*csi.NodeServiceCapability{{
		Type: &csi.NodeServiceCapability_Rpc{Rpc: &csi.NodeServiceCapability_RPC{Type: csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME}},
	}}}, nil
}

func (n *node) NodeStageVolume(_ context.Context, req *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
	if req.GetVolumeId() == "" || req.GetStagingTargetPath() == "" || req.GetVolumeCapability() == nil {
		return nil, status.Error(codes.InvalidArgument, "NodeStageVolume needs a volume ID, a staging path and a capability")
	}
	defer n.lock(req.GetVolumeId())()
	if err := n.stage(req.GetVolumeId(), req.GetStagingTargetPath(), req.GetVolumeContext(), req.GetSecrets()); err != nil {
		return nil, err
	}
	return &csi.NodeStageVolumeResponse{}, nil
}

// stage mounts the volume at the staging path unless it is mounted there.
func (n *node) stage(volumeID, staging string, attributes, secrets map[string]string) error {
	mounted, err := isMountPoint(staging)
	if err != nil || mounted {
		return err
	}
	v, err := parseVolume(volumeID, n.bucketFrom, attributes, secrets)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if err := os.MkdirAll(staging, 0o750); err != nil {
		return err
	}
	if err := n.mounts.fuse(v, staging); err != nil {
		return status.Errorf(codes.Internal, "mounting %s at %s: %v", volumeID, staging, err)
	}
	return nil
}

func (n *node) NodePublishVolume(_ context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	target, staging := req.GetTargetPath(), req.GetStagingTargetPath()
	if req.GetVolumeId() == "" || target == "" || staging == "" {
		return nil, status.Error(codes.InvalidArgument, "NodePublishVolume needs a volume ID, a target path and a staging path")
	}
	defer n.lock(req.GetVolumeId())()
	// A staged mount whose FUSE process died is mounted again, with the
	// publish secrets, as k8s-csi-s3 does.
	if err := n.stage(req.GetVolumeId(), staging, req.GetVolumeContext(), req.GetSecrets()); err != nil {
		return nil, err
	}
	mounted, err := isMountPoint(target)
	if err != nil {
		return nil, err
	}
	if mounted {
		return &csi.NodePublishVolumeResponse{}, nil
	}
	if err := os.MkdirAll(target, 0o750); err != nil {
		return nil, err
	}
	if err := bind(staging, target, req.GetReadonly()); err != nil {
		return nil, status.Errorf(codes.Internal, "bind-mounting %s at %s: %v", req.GetVolumeId(), target, err)
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

func (n *node) NodeUnpublishVolume(_ context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	if req.GetVolumeId() == "" || req.GetTargetPath() == "" {
		return nil, status.Error(codes.InvalidArgument, "NodeUnpublishVolume needs a volume ID and a target path")
	}
	defer n.lock(req.GetVolumeId())()
	if err := unmount(req.GetTargetPath()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if err := os.Remove(req.GetTargetPath()); err != nil && !os.IsNotExist(err) {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

func (n *node) NodeUnstageVolume(_ context.Context, req *csi.NodeUnstageVolumeRequest) (*csi.NodeUnstageVolumeResponse, error) {
	if req.GetVolumeId() == "" || req.GetStagingTargetPath() == "" {
		return nil, status.Error(codes.InvalidArgument, "NodeUnstageVolume needs a volume ID and a staging path")
	}
	defer n.lock(req.GetVolumeId())()
	if err := n.mounts.release(req.GetStagingTargetPath()); err != nil {
		return nil, status.Error(codes.Internal, fmt.Sprintf("unstaging %s: %v", req.GetVolumeId(), err))
	}
	return &csi.NodeUnstageVolumeResponse{}, nil
}
