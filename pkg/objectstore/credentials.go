package objectstore

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Credentials say where an S3 endpoint is and how to sign for it.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	Endpoint        string
	Region          string
}

// FromSecret reads k8s-csi-s3's Secret keys. The region defaults to
// us-east-1, which S3-compatible servers accept when none is configured.
func FromSecret(data map[string]string) (Credentials, error) {
	c := Credentials{
		AccessKeyID:     data["accessKeyID"],
		SecretAccessKey: data["secretAccessKey"],
		Endpoint:        data["endpoint"],
		Region:          data["region"],
	}
	for key, value := range map[string]string{"accessKeyID": c.AccessKeyID, "secretAccessKey": c.SecretAccessKey, "endpoint": c.Endpoint} {
		if value == "" {
			return Credentials{}, fmt.Errorf("the S3 credentials have no %q key", key)
		}
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	return c, nil
}

// Client is an S3 client for the endpoint, path-style (bucket in the path,
// as S3-compatible servers need), checksums only where S3 requires them,
// with no retries (a failed read goes to the reader pod) and bounded
// waits for a connection and for a response's headers; a body streams as
// long as the caller's context allows.
func (c Credentials) Client() *s3.Client {
	return s3.New(s3.Options{
		HTTPClient:       httpClient,
		RetryMaxAttempts: 1,
		BaseEndpoint:     aws.String(c.Endpoint),
		Region:           c.Region,
		UsePathStyle:     true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}, nil
		}),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// The waits of a request to the store.
const (
	DialTimeout     = 5 * time.Second
	ResponseTimeout = 10 * time.Second
)

var httpClient = awshttp.NewBuildableClient().
	WithDialerOptions(func(d *net.Dialer) { d.Timeout = DialTimeout }).
	WithTransportOptions(func(t *http.Transport) { t.ResponseHeaderTimeout = ResponseTimeout })
