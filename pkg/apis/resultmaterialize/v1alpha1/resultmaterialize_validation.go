package v1alpha1

import (
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"

	"cmp"
	"context"
	"fmt"
	"slices"

	"knative.dev/pkg/apis"
)

// Validate checks the object's spec.
func (rm *ResultMaterialize) Validate(ctx context.Context) *apis.FieldError {
	return rm.Spec.Validate(ctx).ViaField("spec")
}

// Validate checks every field against what the API allows. Each error
// carries its field path, the value and what is allowed.
func (s *ResultMaterializeSpec) Validate(context.Context) *apis.FieldError {
	var errs *apis.FieldError
	if s.Directory != "" && s.Directory != "." {
		if _, err := resultmaterialize.CleanPath(s.Directory); err != nil {
			errs = errs.Also(invalid(s.Directory, "directory", err.Error()))
		}
	}
	errs = errs.Also(validateThreshold(s.Threshold, "threshold"))
	errs = errs.Also(validatePolicy(s.OnOversize, "onOversize"))
	errs = errs.Also(validateRetain(s.Retain, "retain"))
	if len(s.Results) == 0 {
		errs = errs.Also(apis.ErrMissingField("results"))
	}
	if len(s.Results) > resultmaterialize.MaxResults {
		errs = errs.Also(&apis.FieldError{Message: fmt.Sprintf("%d results, above the limit of %d", len(s.Results), resultmaterialize.MaxResults), Paths: []string{"results"}})
	}
	names := make([]string, 0, len(s.Results))
	for i, r := range s.Results {
		errs = errs.Also(r.validate().ViaFieldIndex("results", i))
		if p := cmp.Or(r.Path, r.Name); len(s.Directory)+1+len(p) > resultmaterialize.MaxPathLength {
			errs = errs.Also(invalid(fmt.Sprintf("%.64q...", p), "path", fmt.Sprintf("directory and path together are %d bytes, above the limit of %d", len(s.Directory)+1+len(p), resultmaterialize.MaxPathLength)).ViaFieldIndex("results", i))
		}
		names = append(names, r.Name)
	}
	if err := resultmaterialize.CheckCollisions(names); err != nil {
		errs = errs.Also(&apis.FieldError{Message: err.Error(), Paths: []string{"results"}})
	}
	return errs
}

func (r ResultSpec) validate() *apis.FieldError {
	var errs *apis.FieldError
	if err := resultmaterialize.CheckName(r.Name); err != nil {
		errs = errs.Also(invalid(r.Name, "name", err.Error()))
	}
	if r.Path != "" {
		if _, err := resultmaterialize.CleanPath(r.Path); err != nil {
			errs = errs.Also(invalid(r.Path, "path", err.Error()))
		}
	}
	errs = errs.Also(validateThreshold(r.Threshold, "threshold"))
	errs = errs.Also(validatePolicy(r.OnOversize, "onOversize"))
	errs = errs.Also(validateRetain(r.Retain, "retain"))
	if r.Encoding != "" && !slices.Contains(resultmaterialize.Encodings, r.Encoding) {
		errs = errs.Also(invalid(string(r.Encoding), "encoding", fmt.Sprintf("want one of %q", resultmaterialize.Encodings)))
	}
	if len(r.Default) > resultmaterialize.MaxDefaultLength {
		errs = errs.Also(invalid(fmt.Sprintf("%.64q...", r.Default), "default", fmt.Sprintf("%d bytes, above the limit of %d", len(r.Default), resultmaterialize.MaxDefaultLength)))
	}
	if r.Default != "" && !r.Optional {
		errs = errs.Also(invalid(r.Default, "default", "a default applies only to an optional result: set optional: true"))
	}
	return errs.Also(r.validateType())
}

func (r ResultSpec) validateType() *apis.FieldError {
	if r.Type != "" && !slices.Contains(resultmaterialize.Types, r.Type) {
		return invalid(string(r.Type), "type", fmt.Sprintf("want one of %q", resultmaterialize.Types))
	}
	projected := r.Projected()
	if projected {
		if err := r.validateProjection(); err != nil {
			return err
		}
	}
	if r.Type != resultmaterialize.TypeArray {
		if r.Format != "" && !projected {
			return invalid(string(r.Format), "format", "a format applies only to type: array or to a projection")
		}
		if resultmaterialize.ReadAsArray(r.Default) {
			return invalid(r.Default, "default", "Tekton passes a JSON array of strings to consumers as an array param: set type: array")
		}
		return nil
	}
	var errs *apis.FieldError
	if r.Format != "" && !slices.Contains(resultmaterialize.Formats, r.Format) {
		errs = errs.Also(invalid(string(r.Format), "format", fmt.Sprintf("want one of %q", resultmaterialize.Formats)))
	}
	if r.Format == resultmaterialize.SyntaxYAML && !projected {
		errs = errs.Also(invalid(string(r.Format), "format", "yaml applies only to a projection (jsonPath or expression): an array's file is json or lines"))
	}
	if r.Encoding == resultmaterialize.EncodingBase64 {
		errs = errs.Also(invalid(string(r.Encoding), "encoding", "an array result is text: its items are strings"))
	}
	if r.OnOversize == resultmaterialize.PolicyTruncate && resultmaterialize.Oversize(r.OnOversize, r.Type, projected).Oversize != resultmaterialize.BecomesTruncated {
		errs = errs.Also(invalid(string(r.OnOversize), "onOversize", "an array result is surfaced whole or not at all: above its threshold it fails the run"))
	}
	if r.Optional && !resultmaterialize.ReadAsArray(r.Default) {
		errs = errs.Also(invalid(r.Default, "default", "an optional array result needs a default that is a non-empty JSON array of strings"))
	}
	return errs
}

// validateProjection checks the fields that go with a jsonPath or an
// expression. Its syntax is checked where the spec is resolved
// (pkg/reconciler), which links the projection engines this package must
// not.
func (r ResultSpec) validateProjection() *apis.FieldError {
	field, value := "jsonPath", r.JSONPath
	if r.Expression != "" {
		field, value = "expression", r.Expression
	}
	if r.JSONPath != "" && r.Expression != "" {
		return &apis.FieldError{Message: "expected exactly one, got both", Paths: []string{"jsonPath", "expression"}}
	}
	var errs *apis.FieldError
	if len(value) > resultmaterialize.MaxQueryLength {
		errs = errs.Also(invalid(fmt.Sprintf("%.64q...", value), field, fmt.Sprintf("%d bytes, above the limit of %d", len(value), resultmaterialize.MaxQueryLength)))
	}
	if r.Format != "" && !slices.Contains(resultmaterialize.DocumentSyntaxes, r.Format) {
		errs = errs.Also(invalid(string(r.Format), "format", "a projection reads json or yaml"))
	}
	if r.Encoding == resultmaterialize.EncodingBase64 {
		errs = errs.Also(invalid(string(r.Encoding), "encoding", "a projected value is text"))
	}
	return errs
}

// maxThresholdLength is the CRD's maxLength for a threshold, which bounds
// the cost of its quantity rule. A longer threshold of at most 1Mi has
// leading zeros ("0000...4Ki"): refused here too, as the CRD refuses it.
const maxThresholdLength = 32

func validateThreshold(q, field string) *apis.FieldError {
	if q == "" {
		return nil
	}
	if len(q) > maxThresholdLength {
		return invalid(fmt.Sprintf("%.64q...", q), field, fmt.Sprintf("%d bytes, above the limit of %d", len(q), maxThresholdLength))
	}
	if _, err := resultmaterialize.ParseThreshold(q); err != nil {
		return invalid(q, field, err.Error())
	}
	return nil
}

func validatePolicy(p resultmaterialize.Policy, field string) *apis.FieldError {
	if p == "" || slices.Contains(resultmaterialize.Policies, p) {
		return nil
	}
	return invalid(string(p), field, fmt.Sprintf("want one of %q", resultmaterialize.Policies))
}

func validateRetain(r resultmaterialize.Retain, field string) *apis.FieldError {
	if r == "" || slices.Contains(resultmaterialize.Retains, r) {
		return nil
	}
	return invalid(string(r), field, fmt.Sprintf("want one of %q", resultmaterialize.Retains))
}

func invalid(value, field, detail string) *apis.FieldError {
	return &apis.FieldError{Message: fmt.Sprintf("invalid value: %s", value), Paths: []string{field}, Details: detail}
}
