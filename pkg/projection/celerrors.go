package projection

import (
	"strings"

	"github.com/resultmaterialize/controller/pkg/reasons"
)

// celErrorKind names one kind of CEL run-time error by the start of CEL's
// message. The rest of CEL's message is never shown: "no such key: ...",
// "index out of bounds: ..." and "error parsing regexp: ..." go on with a
// key, an index or a regular expression that came from the document.
type celErrorKind struct {
	prefix string
	reason reasons.Reason
	// kind is what the result's message says instead.
	kind string
}

// celErrorKinds lists the run-time errors of CEL's standard library that
// a JSON or YAML document can cause.
var celErrorKinds = []celErrorKind{
	{"no such key", reasons.ProjectionNoMatch, "matches nothing: no such key"},
	{"no such attribute", reasons.ProjectionNoMatch, "matches nothing: no such attribute"},
	{"index out of bounds", reasons.ProjectionEvalFailed, "failed: index out of bounds"},
	{"index '", reasons.ProjectionEvalFailed, "failed: index out of bounds"},
	{"no such overload", reasons.ProjectionEvalFailed, "failed: no such overload (an operator or function met a value of a type it does not take)"},
	{"no matching overload", reasons.ProjectionEvalFailed, "failed: no such overload (an operator or function met a value of a type it does not take)"},
	{"division by zero", reasons.ProjectionEvalFailed, "failed: division by zero"},
	{"modulus by zero", reasons.ProjectionEvalFailed, "failed: modulus by zero"},
	{"integer overflow", reasons.ProjectionEvalFailed, "failed: integer overflow"},
	{"unsigned integer overflow", reasons.ProjectionEvalFailed, "failed: unsigned integer overflow"},
	{"duration overflow", reasons.ProjectionEvalFailed, "failed: duration overflow"},
	{"timestamp overflow", reasons.ProjectionEvalFailed, "failed: timestamp overflow"},
	{"type conversion error", reasons.ProjectionEvalFailed, "failed: type conversion error"},
	{"error parsing regexp", reasons.ProjectionEvalFailed, "failed: a regular expression does not compile"},
	{"NaN values cannot be ordered", reasons.ProjectionEvalFailed, "failed: NaN values cannot be ordered"},
	{"invalid UTF-8", reasons.ProjectionEvalFailed, "failed: invalid UTF-8 in bytes converted to a string"},
	{"optional.none() dereference", reasons.ProjectionEvalFailed, "failed: optional.none() dereference"},
	{"max recursion depth exceeded", reasons.ProjectionEvalFailed, "failed: max recursion depth exceeded"},
}

// evalError words a CEL run-time error by its kind alone.
func evalError(err error) *Error {
	msg := err.Error()
	for _, k := range celErrorKinds {
		if strings.HasPrefix(msg, k.prefix) {
			return fail(k.reason, "%s", k.kind)
		}
	}
	return fail(reasons.ProjectionEvalFailed, "failed at run time (CEL's own message is not shown: it can quote the document)")
}
