package projection

import (
	"bytes"
	"errors"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	yaml "go.yaml.in/yaml/v3"
)

// Bytes of memory a parsed value may take, counted per separator of the
// raw document (',', ':', '[', '{', and for YAML '-' and newlines), an
// upper bound on its number of values, or for YAML per node decoding
// builds when aliases make more; and for JSON per object ('{'), which Go
// holds in a map of at least one group of eight slots once it has a key.
// The estimate refuses a document that would not fit in memory before
// parsing it: a JSON list of small numbers takes about 18 bytes per value
// once parsed, a list of one-key objects about 355 bytes per object, a
// YAML node about 290 with its decoded value.
const (
	jsonValueCost  = 64
	jsonObjectCost = 320
	yamlValueCost  = 320
)

// memoryFactor is how many times max-projection-bytes a whole parse may
// use; the reader pod's memory limit is protocol.MemoryFactor times, the rest is
// headroom for the Go runtime.
const memoryFactor = 10

// spreadCost is what each byte of the document may cost per spread of a
// JSONPath: a reflect.Value (24 bytes) and its place in the results (16).
const spreadCost = 40

// outputMemory is how many times max-projection-bytes the values of a
// file's projections take together: the budget bounds what they render,
// and rendering one builds it once more before it is kept.
const outputMemory = 2

// celMemory bounds the values an expression builds while it runs, within
// its cost limit.
const celMemory = 32 << 20

// maxNodes caps a count of YAML nodes: every limit refuses far fewer, and
// the cost of that many still fits in an int64.
const maxNodes = 1 << 40

// separators counts the values raw may hold in format, at most.
func separators(format resultmaterialize.Format, raw []byte) int64 {
	seps := bytes.Count(raw, []byte(",")) + bytes.Count(raw, []byte(":")) + bytes.Count(raw, []byte("[")) + bytes.Count(raw, []byte("{")) + 1
	if format == resultmaterialize.SyntaxYAML {
		seps += bytes.Count(raw, []byte("-")) + bytes.Count(raw, []byte("\n"))
	}
	return int64(seps)
}

// parseCost estimates the memory raw takes parsed in format: twice its
// bytes, and each value's and (JSON) each object's cost. built is the
// number of nodes decoding a YAML document builds, once it is parsed.
func parseCost(format resultmaterialize.Format, raw []byte, built int64) int64 {
	size, values := int64(len(raw)), separators(format, raw)
	if format == resultmaterialize.SyntaxYAML {
		return 2*size + yamlValueCost*max(values, built)
	}
	return 2*size + jsonValueCost*values + jsonObjectCost*int64(bytes.Count(raw, []byte("{")))
}

// fits reports whether a document of size bytes whose parse costs parsed,
// evaluated with a template of the given spread, stays within the memory
// a whole parse may use.
func fits(parsed, size, limit int64, spread int) (int64, bool) {
	need := parsed + int64(spread)*spreadCost*size
	return need, need <= memoryFactor*limit
}

func tooMuchMemory(need, limit int64) *Error {
	return fail(reasons.ProjectionTooLarge,
		"would take about %d bytes of memory to parse and evaluate, above the %d that max-projection-bytes of %d allows; a simple field path such as {.a.b} streams a JSON file of any size",
		need, memoryFactor*limit, limit)
}

// errAliasCycle is a YAML anchor whose value holds an alias to itself,
// which would expand forever.
var errAliasCycle = errors.New("is not valid YAML: an anchor's value holds an alias to itself")

// expansion counts the nodes decoding a parsed YAML document builds, each
// alias expanded into a copy of its anchor's value, up to maxNodes. An
// anchor's count is kept, so counting takes time in the size of the tree,
// not in the size of its expansion.
func expansion(doc *yaml.Node) (int64, error) {
	counts := map[*yaml.Node]int64{}
	var count func(n *yaml.Node) (int64, error)
	count = func(n *yaml.Node) (int64, error) {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		if n.Anchor != "" {
			switch c, seen := counts[n]; {
			case seen && c < 0:
				return 0, errAliasCycle
			case seen:
				return c, nil
			}
			counts[n] = -1
		}
		total := int64(1)
		for _, child := range n.Content {
			c, err := count(child)
			if err != nil {
				return 0, err
			}
			total = min(total+c, maxNodes)
		}
		if n.Anchor != "" {
			counts[n] = total
		}
		return total, nil
	}
	return count(doc)
}

// MemoryEstimate is the most memory, in bytes, Reports takes to answer
// reqs, the projection requests on one file, over content: the formulas
// that refuse a projection before it parses (see fits), applied to the
// group as Reports holds it. A caller that runs projections side by side
// (the controller, for ConfigMaps) reserves it from a shared budget
// before calling Reports. It counts content's separators but does not
// parse it: a YAML document that may hold aliases, whose expansion is
// known only once parsed, counts the most a whole parse is allowed.
func MemoryEstimate(content []byte, reqs []protocol.FileRequest) int64 {
	g := compileGroup(reqs, func(int, error) {})
	size, limit := int64(len(content)), g.limit
	most := memoryFactor * limit
	var copied, whole, scan, eval int64
	for _, q := range g.queries {
		switch {
		case q.Streams():
			// What the paths select is kept, limit bytes at most for all
			// of them, then each value is parsed alone.
			kept := min(size, limit)
			scan = max(scan, scanBuffer(size)+2*kept+min(most, parseCost(resultmaterialize.SyntaxJSON, content, 0)))
		case size > q.limit(limit):
			// Refused before the file is read.
		default:
			format := q.format()
			need, _ := fits(parseCost(format, content, 0), size, limit, q.spread)
			if format == resultmaterialize.SyntaxYAML && bytes.IndexByte(content, '*') >= 0 {
				need = most
			}
			// The copy a whole parse reads grows to twice the file.
			copied, whole = 2*size, max(whole, min(need, most))
			if q.expr != nil {
				eval = celMemory
			}
		}
	}
	return copied + max(whole+eval, scan) + outputMemory*limit
}
