package workspace

import (
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"strings"
	"testing"

	"github.com/resultmaterialize/controller/pkg/protocol"
)

// KubeletLogRotation is the kubelet's default containerLogMaxSize: a log
// is rotated at 10Mi, and pods/log then serves the newest file only.
const KubeletLogRotation = 10 << 20

// TestReaderOutputFarBelowLogRotation pins the most a reader can print
// for the largest plan the API and the config allow: 64 results, all
// projections at a 1Mi threshold, paths filling the whole request
// argument, and a max-inline-total of 1Mi. It stays under half the
// kubelet's rotation size, so the log is read whole. A result is a
// projection or exported (retain: oci), never both, and either takes the
// same allowance: the same plan exporting every file prints no more.
func TestReaderOutputFarBelowLogRotation(t *testing.T) {
	reqs := make([]protocol.FileRequest, resultmaterialize.MaxResults)
	path := strings.Repeat("p", MaxRequestBytes/resultmaterialize.MaxResults)
	for i := range reqs {
		reqs[i] = protocol.FileRequest{Path: path, Limit: resultmaterialize.MaxThreshold, KeepOversizeHead: true, Projection: &protocol.Projection{JSONPath: "{.a}"}}
	}
	got := protocol.MaxOutputBytes(reqs, resultmaterialize.MaxThreshold)
	exported := make([]protocol.FileRequest, len(reqs))
	for i, r := range reqs {
		r.Projection, r.Export = nil, true
		exported[i] = r
	}
	if e := protocol.MaxOutputBytes(exported, resultmaterialize.MaxThreshold); e > got {
		t.Errorf("a reader exporting every file may print %d bytes, more than the %d of the largest projecting plan", e, got)
	}
	if got > KubeletLogRotation/2 {
		t.Errorf("a reader may print %d bytes, above half the kubelet's log rotation (%d)", got, KubeletLogRotation/2)
	}
	t.Logf("the largest reader output is %d bytes (%.1f MiB), %.0f%% of the kubelet's rotation size", got, float64(got)/(1<<20), 100*float64(got)/KubeletLogRotation)
}
