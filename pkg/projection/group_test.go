package projection

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

func projected(path, jsonPath string) protocol.FileRequest {
	return protocol.FileRequest{Path: path, Limit: 64, Projection: &protocol.Projection{JSONPath: jsonPath, MaxBytes: 1 << 20}}
}

// TestGroupsByFile checks that projections on one file form one group,
// in the order of each file's first request, with their plan indexes,
// and that plain reads are left out.
func TestGroupsByFile(t *testing.T) {
	reqs := []protocol.FileRequest{
		projected("b.json", "{.x}"), {Path: "plain", Limit: 8}, projected("a.json", "{.y}"), projected("b.json", "{.z}"),
	}
	got := Groups(reqs)
	if len(got) != 2 || got[0].Path != "b.json" || !slices.Equal(got[0].At, []int{0, 3}) || got[1].Path != "a.json" || !slices.Equal(got[1].At, []int{2}) {
		t.Fatalf("Groups = %+v, want b.json at 0 and 3, then a.json at 2", got)
	}
	if got[0].Requests[1].Projection.JSONPath != "{.z}" {
		t.Errorf("the group's second request is %+v, want the request at index 3", got[0].Requests[1])
	}
}

// TestAnswerScattersByIndex checks that a group's reports land at their
// requests' indexes, leaving the others alone.
func TestAnswerScattersByIndex(t *testing.T) {
	reqs := []protocol.FileRequest{projected("d.json", "{.a}"), {Path: "plain"}, projected("d.json", "{.b}")}
	reports := make([]protocol.FileReport, len(reqs))
	reports[1] = protocol.FileReport{Path: "plain", Size: 7}
	doc := `{"a":"x","b":"yy"}`
	Groups(reqs)[0].Answer(context.Background(), strings.NewReader(doc), int64(len(doc)), reports)
	if string(reports[0].Head) != "x" || string(reports[2].Head) != "yy" || reports[1].Size != 7 {
		t.Errorf("reports = %+v, want x at 0, yy at 2 and index 1 untouched", reports)
	}
	if reports[0].Source == nil || reports[0].Source.Size != int64(len(doc)) {
		t.Errorf("report 0 source = %+v, want the whole file's size %d", reports[0].Source, len(doc))
	}
}

// panicking is a file whose read panics, as a bug in a projection would.
type panicking struct{}

func (panicking) Read([]byte) (int, error) { panic("boom") }

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("disk gone") }

// TestAnswerRecoversAPanic checks that a panic while projecting fails the
// group's results, every one, instead of the process, without showing
// the panic's value, which can hold the document.
func TestAnswerRecoversAPanic(t *testing.T) {
	reqs := []protocol.FileRequest{projected("d.json", "{.a}"), projected("d.json", "{.b}")}
	reports := make([]protocol.FileReport, len(reqs))
	Groups(reqs)[0].Answer(context.Background(), panicking{}, 10, reports)
	for i, rep := range reports {
		if !rep.Found || rep.Error == nil || rep.Error.Reason != reasons.ProjectionEvalFailed || !strings.Contains(rep.Error.Message, "panicked") || strings.Contains(rep.Error.Message, "boom") || rep.Path != "d.json" {
			t.Errorf("report %d = %+v, want %s saying it panicked, without the panic's value", i, rep, reasons.ProjectionEvalFailed)
		}
	}
}

// TestAnswerFailsAnUnreadableFile checks that a read error fails every
// request of the group with ResultUnreadable, naming the file.
func TestAnswerFailsAnUnreadableFile(t *testing.T) {
	reqs := []protocol.FileRequest{projected("d.json", "{.a}")}
	reports := make([]protocol.FileReport, 1)
	Groups(reqs)[0].Answer(context.Background(), io.MultiReader(strings.NewReader(`{"a":`), failing{}), 20, reports)
	if e := reports[0].Error; e == nil || e.Reason != reasons.ResultUnreadable || !strings.Contains(e.Message, `reading "d.json": disk gone`) {
		t.Errorf("report = %+v, want %s naming the file and the cause", reports[0], reasons.ResultUnreadable)
	}
}

// TestCappedBoundsMaxBytes checks that a capped group holds each
// projection to the cap, leaving the plan's requests as they were.
func TestCappedBoundsMaxBytes(t *testing.T) {
	reqs := []protocol.FileRequest{projected("d.json", "{.a}")}
	doc := `{"a":"` + strings.Repeat("x", 100) + `"}`
	g := Groups(reqs)[0]
	capped := g.Capped(16)
	if reqs[0].Projection.MaxBytes != 1<<20 || g.Requests[0].Projection.MaxBytes != 1<<20 || capped.Requests[0].Projection.MaxBytes != 16 {
		t.Fatalf("max-projection-bytes: plan %d, group %d, capped %d; want 1Mi, 1Mi, 16", reqs[0].Projection.MaxBytes, g.Requests[0].Projection.MaxBytes, capped.Requests[0].Projection.MaxBytes)
	}
	if g.Capped(2 << 20).Requests[0].Projection.MaxBytes != 1<<20 {
		t.Error("a cap above max-projection-bytes raised it")
	}
	reports := make([]protocol.FileReport, 1)
	capped.Answer(context.Background(), strings.NewReader(doc), int64(len(doc)), reports)
	if e := reports[0].Error; e == nil || e.Reason != reasons.ProjectionTooLarge {
		t.Errorf("capped report = %+v, want %s", reports[0], reasons.ProjectionTooLarge)
	}
	g.Answer(context.Background(), strings.NewReader(doc), int64(len(doc)), reports)
	if reports[0].Error != nil || reports[0].Size != 100 {
		t.Errorf("uncapped report = %+v, want the 100-byte value", reports[0])
	}
}
