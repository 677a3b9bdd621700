package objectstore

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// fakeStore is an in-process S3 server with one bucket.
func fakeStore(t *testing.T) Store {
	t.Helper()
	server := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(server.Close)
	c, err := FromSecret(map[string]string{"accessKeyID": "id", "secretAccessKey": "key", "endpoint": server.URL})
	if err != nil {
		t.Fatal(err)
	}
	s := Store{Client: c.Client(), Bucket: "artifacts"}
	if _, err := s.Client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("artifacts")}); err != nil {
		t.Fatal(err)
	}
	return s
}

func put(t *testing.T, s Store, key, body string, meta map[string]string) {
	t.Helper()
	_, err := s.Client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: strings.NewReader(body), Metadata: meta})
	if err != nil {
		t.Fatal(err)
	}
}

// Stat sees what s3fs would show: a regular file only for an object with
// a regular, world-readable mode; a directory for a marker or objects
// below the key; anything else is left to the mount.
func TestStatKinds(t *testing.T) {
	ctx := context.Background()
	s := fakeStore(t)
	put(t, s, "p/file", "hello", map[string]string{"mode": "33188"})       // 0100644
	put(t, s, "p/private", "x", map[string]string{"mode": "33152"})        // 0100600
	put(t, s, "p/link", "/etc/passwd", map[string]string{"mode": "41471"}) // 0120777
	put(t, s, "p/geese", "target", map[string]string{"--symlink-target": "target"})
	put(t, s, "p/bare", "no mode", nil)
	put(t, s, "p/marker/", "", map[string]string{"mode": "16877"})
	put(t, s, "p/implicit/child", "c", map[string]string{"mode": "33188"})
	for key, want := range map[string]Kind{
		"p/file": Regular, "p/private": Doubtful, "p/link": Doubtful, "p/geese": Doubtful, "p/bare": Doubtful,
		"p/marker": Directory, "p/implicit": Directory, "p/none": Missing, "p/fil": Missing,
	} {
		o, err := s.Stat(ctx, key)
		if err != nil || o.Kind != want {
			t.Errorf("Stat(%q) = %+v, %v; want kind %d", key, o, err, want)
		}
		if want == Doubtful && o.Why == "" {
			t.Errorf("Stat(%q): doubtful with no reason", key)
		}
	}
	o, err := s.Stat(ctx, "p/file")
	if err != nil || o.Size != 5 {
		t.Fatalf("Stat = %+v, %v", o, err)
	}
	body, err := s.Open(ctx, "p/file", o)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if string(got) != "hello" {
		t.Errorf("Open read %q", got)
	}
	put(t, s, "p/file", "hello, again", map[string]string{"mode": "33188"})
	if body, err := s.Open(ctx, "p/file", o); err == nil {
		body.Close()
		t.Error("Open of an object replaced since its HEAD succeeded")
	}
}

func TestDeniedAndCode(t *testing.T) {
	for _, tc := range []struct {
		err    error
		denied bool
		code   string
	}{
		{&smithy.GenericAPIError{Code: "AccessDenied"}, true, "AccessDenied"},
		{&smithy.GenericAPIError{Code: "SignatureDoesNotMatch"}, true, "SignatureDoesNotMatch"},
		{&smithy.GenericAPIError{Code: "InvalidAccessKeyId"}, true, "InvalidAccessKeyId"},
		{&smithy.GenericAPIError{Code: "SlowDown"}, false, "SlowDown"},
		{errors.New("dial tcp 10.0.0.1:7070: connect: connection refused"), false, "no response"},
	} {
		if Denied(tc.err) != tc.denied || Code(tc.err) != tc.code {
			t.Errorf("%v: Denied %v Code %q, want %v %q", tc.err, Denied(tc.err), Code(tc.err), tc.denied, tc.code)
		}
	}
}
