package projection

import (
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"strings"
	"testing"

	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// secret stands for a value of the document; 7311234567 for a number.
const secret = "hunter2-9f3a"

var secretDoc = `{"user": "` + secret + `", "re": "[` + secret + `", "n": 7311234567, "big": 9223372036854775807,
 "grants": {"alice": 1}, "rows": [{"x": "` + secret + `"}], "m": {"` + secret + `": 0}, "l": [1, 2], "nested": {"` + secret + `": {"deeper": "` + secret + `"}}}`

// TestMessagesNeverQuoteTheDocument: a failure's message reaches the
// run's condition, its Event and the controller's log, so it names the
// kind of error, never a key, value or regular expression of the
// document.
func TestMessagesNeverQuoteTheDocument(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		p    protocol.Projection
		want reasons.Reason
		kind string
	}{
		{secretDoc, protocol.Projection{Expression: "doc.grants[doc.user]"}, reasons.ProjectionNoMatch, "no such key"},
		{secretDoc, protocol.Projection{Expression: "{doc.user: 1}[doc.user + 'x']"}, reasons.ProjectionNoMatch, "no such key"},
		{secretDoc, protocol.Projection{Expression: "doc.l.map(x, doc.grants[doc.user])"}, reasons.ProjectionNoMatch, "no such key"},
		{secretDoc, protocol.Projection{Expression: "[doc.grants[doc.user]]"}, reasons.ProjectionNoMatch, "no such key"},
		{secretDoc, protocol.Projection{Expression: "'a'.matches(doc.re)"}, reasons.ProjectionEvalFailed, "regular expression"},
		{secretDoc, protocol.Projection{Expression: "doc.user.matches(doc.re)"}, reasons.ProjectionEvalFailed, "regular expression"},
		{secretDoc, protocol.Projection{Expression: "doc.user + 1"}, reasons.ProjectionEvalFailed, "no such overload"},
		{secretDoc, protocol.Projection{Expression: "doc.big + 1"}, reasons.ProjectionEvalFailed, "integer overflow"},
		{secretDoc, protocol.Projection{Expression: "doc.l[doc.n]"}, reasons.ProjectionEvalFailed, "index out of bounds"},
		{secretDoc, protocol.Projection{Expression: "int(doc.user)"}, reasons.ProjectionEvalFailed, "type conversion error"},
		{secretDoc, protocol.Projection{Expression: "timestamp(doc.user)"}, reasons.ProjectionEvalFailed, "type conversion error"},
		{secretDoc, protocol.Projection{Expression: "duration(doc.user)"}, reasons.ProjectionEvalFailed, "type conversion error"},
		{secretDoc, protocol.Projection{Expression: "doc.n / doc.m[doc.user]"}, reasons.ProjectionEvalFailed, "division by zero"},
		{secretDoc, protocol.Projection{Expression: "doc.nested[doc.user].missing"}, reasons.ProjectionNoMatch, "no such key"},
		{secretDoc, protocol.Projection{JSONPath: "{.l[7311234567]}"}, reasons.ProjectionNoMatch, "matches nothing"},
		{secretDoc, protocol.Projection{JSONPath: "{.nested.*.missing}"}, reasons.ProjectionNoMatch, "matches nothing"},
		{secretDoc, protocol.Projection{JSONPath: "{.rows[?(@.x > 1)]}"}, reasons.ProjectionEvalFailed, "cannot be evaluated"},
		{"a: !!int " + secret + "\n", protocol.Projection{JSONPath: "{.a}", Format: resultmaterialize.SyntaxYAML}, reasons.ProjectionInvalidDocument, "does not match its tag"},
		{"? [" + secret + "]\n: 1\n", protocol.Projection{JSONPath: "{.a}", Format: resultmaterialize.SyntaxYAML}, reasons.ProjectionInvalidDocument, "a key is a list or a map"},
		{secret + ": 1\n" + secret + ": 2\n", protocol.Projection{JSONPath: "{.a}", Format: resultmaterialize.SyntaxYAML}, reasons.ProjectionInvalidDocument, "one key twice"},
		{"a: {" + secret + ": .nan}\n", protocol.Projection{JSONPath: "{.a}", Format: resultmaterialize.SyntaxYAML}, reasons.ProjectionInvalidDocument, "NaN"},
		{secret + ": 1\n1: a\n1.0: b\n", protocol.Projection{JSONPath: "{.a}", Format: resultmaterialize.SyntaxYAML}, reasons.ProjectionInvalidDocument, "the same once written as JSON"},
		{"a: !!binary " + secret + "\n", protocol.Projection{JSONPath: "{.a}", Format: resultmaterialize.SyntaxYAML}, reasons.ProjectionInvalidDocument, "not base64"},
		{"password: *" + secret + "\n", protocol.Projection{JSONPath: "{.a}", Format: resultmaterialize.SyntaxYAML}, reasons.ProjectionInvalidDocument, "unknown anchor"},
		{"a: \"" + secret + "\n", protocol.Projection{JSONPath: "{.a}", Format: resultmaterialize.SyntaxYAML}, reasons.ProjectionInvalidDocument, "is not valid YAML"},
	} {
		got := project(t, tc.doc, tc.p)
		query := tc.p.JSONPath + tc.p.Expression
		switch {
		case got.Err == nil:
			t.Errorf("%q = %q; want %s", query, got.Value, tc.want)
		case got.Err.Reason != tc.want || !strings.Contains(got.Err.Message, tc.kind):
			t.Errorf("%q failed with %s: %q; want %s naming %q", query, got.Err.Reason, got.Err.Message, tc.want, tc.kind)
		case strings.Contains(got.Err.Message, secret) || strings.Contains(got.Err.Message, "7311234567"):
			t.Errorf("%q: the message quotes the document: %q", query, got.Err.Message)
		}
	}
}

// FuzzMessagesNeverQuoteTheDocument checks that no expression that
// compiles, unless it spells the secret itself, makes a message that
// holds it.
func FuzzMessagesNeverQuoteTheDocument(f *testing.F) {
	for _, expr := range []string{
		"doc.grants[doc.user]", "'a'.matches(doc.re)", "doc.user + 1", "doc.big * 2", "doc.l[doc.n]",
		"int(doc.user)", "doc.nested[doc.user].deeper.x", "doc.m[doc.user] / 0", "bytes(doc.user)",
		"doc.user < 1", "double(doc.user)", "doc.grants.all(k, doc[doc.user])", "dyn(doc.user).x",
	} {
		f.Add(expr)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if strings.Contains(expr, "hunter") || strings.Contains(expr, "9f3a") || strings.Contains(expr, "7311") {
			return
		}
		q, err := Compile(protocol.Projection{Expression: expr})
		if err != nil {
			return
		}
		if got := evaluate(t, q, secretDoc); got.Err != nil && (strings.Contains(got.Err.Message, secret) || strings.Contains(got.Err.Message, "7311234567")) {
			t.Fatalf("%q: the message quotes the document: %q", expr, got.Err.Message)
		}
	})
}
