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
// kubelet's rotation size, so the log is read whole.
func TestReaderOutputFarBelowLogRotation(t *testing.T) {
	reqs := make([]protocol.FileRequest, resultmaterialize.MaxResults)
	path := strings.Repeat("p", MaxRequestBytes/resultmaterialize.MaxResults)
	for i := range reqs {
		reqs[i] = protocol.FileRequest{Path: path, Limit: resultmaterialize.MaxThreshold, KeepOversizeHead: true, Projection: &protocol.Projection{JSONPath: "{.a}"}}
	}
	got := protocol.MaxOutputBytes(reqs, resultmaterialize.MaxThreshold)
	if got > KubeletLogRotation/2 {
		t.Errorf("a reader may print %d bytes, above half the kubelet's log rotation (%d)", got, KubeletLogRotation/2)
	}
	t.Logf("the largest reader output is %d bytes (%.1f MiB), %.0f%% of the kubelet's rotation size", got, float64(got)/(1<<20), 100*float64(got)/KubeletLogRotation)
}
