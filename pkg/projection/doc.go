// Package projection computes one field of a JSON or YAML result file: a
// kubectl JSONPath or a CEL expression over the document bound as doc.
// Both the reader pod and the controller (for ConfigMap workspaces) use
// it, so a projection gives the same value wherever the file lives. A
// simple field path over JSON streams the file in one pass with flat
// memory; anything else parses the whole document under a size limit.
// It works under its caller's context, stopping when that ends, and says
// before it starts how much memory a file's projections may take
// (MemoryEstimate), so a caller can reserve it.
package projection
