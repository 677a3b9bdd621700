package artifact

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// ErrChanged says a file's bytes were not those it was read with.
var ErrChanged = errors.New("the file changed since it was read")

// ErrUnverified says the registry does not hold the artifact a push
// reported.
var ErrUnverified = errors.New("the artifact does not resolve as pushed")

// Failure turns a push's error into the export's error: ExportRefused for
// credentials, permissions, requests the registry will never accept, a
// registry name that does not resolve and a certificate not trusted;
// ExportTooLarge for a size or quota refusal; ExportUnverified for a file
// that changed or an artifact that does not resolve as pushed; and
// ExportUnavailable for anything that may pass (a registry down, what
// go-containerregistry deems temporary: 5xx, 429, an expired upload, a
// timeout).
func Failure(repository string, err error) *protocol.FileError {
	reason := reasons.ExportUnavailable
	var te *transport.Error
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.Is(err, ErrChanged) || errors.Is(err, ErrUnverified):
		reason = reasons.ExportUnverified
	case errors.As(err, &te):
		reason = byStatus(te)
	case errors.As(err, &dns) && dns.IsNotFound, errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid):
		// A registry name that does not resolve or a certificate this
		// reader does not trust: only a change of config helps.
		reason = reasons.ExportRefused
	}
	msg := fmt.Sprintf("exporting to %s: %v", repository, err)
	return &protocol.FileError{Reason: reason, Message: string(protocol.TruncateUTF8([]byte(msg), protocol.MaxMessage))}
}

func byStatus(te *transport.Error) reasons.Reason {
	for _, d := range te.Errors {
		if strings.Contains(strings.ToLower(string(d.Code)+" "+d.Message), "quota") {
			return reasons.ExportTooLarge
		}
	}
	switch s := te.StatusCode; {
	case s == http.StatusRequestEntityTooLarge || s == http.StatusInsufficientStorage:
		return reasons.ExportTooLarge
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return reasons.ExportRefused
	case te.Temporary() || s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return reasons.ExportUnavailable
	default:
		return reasons.ExportRefused
	}
}

// NotFound says the registry answered 404: what Delete of an artifact
// already deleted gets.
func NotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
