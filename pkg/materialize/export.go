package materialize

import (
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// companions lists what res yields after its value: every result's
// companions, -uri under retain: oci, Chains' hints with provenance.
func companions(res Result) []resultmaterialize.Companion {
	if res.Retain != resultmaterialize.RetainOCI {
		return resultmaterialize.Companions
	}
	out := append(append([]resultmaterialize.Companion(nil), resultmaterialize.Companions...), resultmaterialize.RetainCompanions...)
	if res.Provenance {
		out = append(out, resultmaterialize.ProvenanceCompanions...)
	}
	return out
}

// exported sets the URI of each row that ends by reference and is
// exported, from its report's export; an export that failed ends the run
// or the attempt with its reason, and one that is missing is invalid
// output.
func exported(plan Plan, reports []protocol.FileReport, rows []resultmaterialize.Row) error {
	for i, res := range plan.Results {
		row := &rows[i]
		ref := row.Reason == resultmaterialize.Reference || row.Reason == resultmaterialize.Demoted
		exp := reports[i].Export
		switch {
		case exp != nil && !ref:
			return outcome.Retry(reasons.ReaderOutputInvalid, "result %q: the source exported a value the run keeps inline", res.Name)
		case plan.Export == nil || !res.Exports() || !ref:
		case exp == nil:
			return outcome.Retry(reasons.ReaderOutputInvalid, "result %q: the source did not export a file kept by reference under retain: oci", res.Name)
		case exp.Error != nil && (exp.Error.Reason == reasons.ExportUnavailable || exp.Error.Reason == reasons.ExportUnverified):
			return outcome.Retry(exp.Error.Reason, "result %q: %s", res.Name, exp.Error.Message)
		case exp.Error != nil:
			return outcome.Fail(exportReason(exp.Error.Reason), "result %q: %s", res.Name, exp.Error.Message)
		default:
			row.URI = resultmaterialize.ArtifactURI(plan.Export.Repository, exp.Digest)
		}
	}
	return nil
}

// exportReason keeps a source's failure reason when it is one an export
// may give, and otherwise says the output is invalid.
func exportReason(r reasons.Reason) reasons.Reason {
	switch r {
	case reasons.ExportRefused, reasons.ExportTooLarge:
		return r
	}
	return reasons.ReaderOutputInvalid
}
