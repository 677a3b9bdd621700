package projection

import "k8s.io/client-go/util/jsonpath"

// step is one hop of a simple field path: an object key or an array index.
type step struct {
	key     string
	index   int
	isIndex bool
}

// simple returns the steps of a template that is one field path of keys
// and non-negative indexes, such as {.a.b} or {.items[3].name}: those
// stream. Anything else (wildcards, filters, slices, negative indexes,
// recursive descent, unions, several nodes, literal text) returns nil.
func simple(p *jsonpath.Parser) []step {
	if len(p.Root.Nodes) != 1 {
		return nil
	}
	list, ok := p.Root.Nodes[0].(*jsonpath.ListNode)
	if !ok || len(list.Nodes) == 0 {
		return nil
	}
	steps := make([]step, 0, len(list.Nodes))
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *jsonpath.FieldNode:
			if n.Value == "" {
				return nil
			}
			steps = append(steps, step{key: n.Value})
		case *jsonpath.ArrayNode:
			from, to, stride := n.Params[0], n.Params[1], n.Params[2]
			if !from.Known || from.Value < 0 || !to.Derived || stride.Known {
				return nil
			}
			steps = append(steps, step{index: from.Value, isIndex: true})
		default:
			return nil
		}
	}
	return steps
}
