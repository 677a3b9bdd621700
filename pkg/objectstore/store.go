package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	corev1 "k8s.io/api/core/v1"
)

// Location is where a volume's files are: a bucket and a key prefix ("" for
// the whole bucket), as the mount shows them under its root.
type Location struct {
	Bucket, Prefix string
}

// Locate maps a PV to its bucket and prefix as the profile says; secret
// is its credentials Secret's data.
func (p Profile) Locate(csi *corev1.CSIPersistentVolumeSource, secret map[string]string) (Location, error) {
	var bucket, prefix string
	switch p.Bucket {
	case BucketFromVolumeHandle:
		return ParseHandle(csi.VolumeHandle)
	case BucketFromSecret:
		// The messages name the keys, never their values: the run's
		// namespace may not read the Secret.
		loc, err := ParseHandle(secret["bucket"])
		switch {
		case secret["bucket"] == "":
			return Location{}, fmt.Errorf("volume %q: its Secret has no bucket key", csi.VolumeHandle)
		case secret["folder"] != "":
			return Location{}, fmt.Errorf("volume %q: its Secret names a folder, which datashim's mounters apply differently (goofys mounts it, s3fs and rclone the whole bucket)", csi.VolumeHandle)
		case err != nil || loc.Prefix != "":
			return Location{}, fmt.Errorf("volume %q: its Secret's bucket key is not a bucket name (a slash, a space, \".\" or \"..\")", csi.VolumeHandle)
		}
		return loc, nil
	default:
		bucket, prefix = csi.VolumeAttributes[p.BucketAttribute], csi.VolumeAttributes[p.PrefixAttribute]
	}
	if strings.Contains(bucket, "/") {
		return Location{}, fmt.Errorf("volume %q: bucket %q from attribute %s has a slash", csi.VolumeHandle, bucket, p.BucketAttribute)
	}
	if prefix != "" {
		bucket += "/" + prefix
	}
	return ParseHandle(bucket)
}

// ParseHandle splits a volume handle, <bucket>/<prefix> as k8s-csi-s3
// writes it, at its first slash; a handle without one is a whole bucket.
// A handle with an empty, "." or ".." segment, or a space in its bucket,
// is refused: a mounter or a listing would read it as another place.
func ParseHandle(handle string) (Location, error) {
	bucket, prefix, _ := strings.Cut(handle, "/")
	for _, segment := range strings.Split(handle, "/") {
		if segment == "" || segment == "." || segment == ".." || strings.Contains(bucket, " ") {
			return Location{}, fmt.Errorf("volume handle %q: want <bucket>/<prefix> with no empty, \".\" or \"..\" segment and no space in the bucket", handle)
		}
	}
	return Location{Bucket: bucket, Prefix: prefix}, nil
}

// Key is the object key of a clean path below the mount's root.
func (l Location) Key(clean string) string {
	return strings.TrimPrefix(path.Join(l.Prefix, clean), "/")
}

// Kind is what the mount would show for a key.
type Kind int

// The kinds of entry a key can be.
const (
	// Missing: no object and no object below it.
	Missing Kind = iota
	// Regular: an object the mount shows as a world-readable regular file.
	Regular
	// Directory: a directory marker or objects below the key.
	Directory
	// Doubtful: an object the mount may show otherwise (a symlink, a
	// special file, a mode the reader cannot read, no mode at all); only a
	// read through the mount can say.
	Doubtful
)

// Object is what a HEAD learned of a key.
type Object struct {
	Kind Kind
	Size int64
	// ETag pins the GET to the object the HEAD saw.
	ETag string
	// Why says why an object is Doubtful.
	Why string
}

// S3 mode bits as s3fs stores them in x-amz-meta-mode.
const (
	modeType    = 0o170000
	modeRegular = 0o100000
	modeDir     = 0o040000
)

// Permission bits, as the reader's class of a file would need them.
const (
	permRead    = 4
	permExecute = 1
)

// Store reads one bucket.
type Store struct {
	Client *s3.Client
	Bucket string
	// Reader is the reader pod's UID and GID (the controller runs the
	// reader as one for both); nil when the platform picks it, and then
	// every class of a file must allow what the reader needs.
	Reader *int64
}

// Stat says what the mount would show at key.
func (s Store) Stat(ctx context.Context, key string) (Object, error) {
	head, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if notFound(err) {
		list, err := s.Client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(key + "/"), MaxKeys: aws.Int32(1)})
		if err != nil {
			return Object{}, err
		}
		if len(list.Contents) > 0 {
			return Object{Kind: Directory}, nil
		}
		return Object{Kind: Missing}, nil
	}
	if err != nil {
		return Object{}, err
	}
	o := Object{Size: aws.ToInt64(head.ContentLength), ETag: aws.ToString(head.ETag)}
	o.Kind, o.Why = s.classify(head.Metadata, modeRegular, permRead)
	if o.Kind == Regular && o.ETag == "" {
		o.Kind, o.Why = Doubtful, "the store gave no ETag to pin the read to"
	}
	return o, nil
}

// Parent says whether the mount shows key as a directory the reader may
// pass through: a directory marker (key/) whose mode allows it, and no
// object named key itself. Anything else (a file or a symlink in the
// way, an implicit directory whose mode the mount decides) is Doubtful.
func (s Store) Parent(ctx context.Context, key string) (Kind, string, error) {
	_, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err == nil {
		return Doubtful, fmt.Sprintf("%q is an object, not a directory", key), nil
	}
	if !notFound(err) {
		return 0, "", err
	}
	head, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key + "/")})
	if notFound(err) {
		return Doubtful, fmt.Sprintf("directory %q has no marker object, so the mount decides its mode", key), nil
	}
	if err != nil {
		return 0, "", err
	}
	kind, why := s.classify(head.Metadata, modeDir, permExecute)
	if kind != Regular {
		return Doubtful, fmt.Sprintf("directory %q: %s", key, why), nil
	}
	return Directory, "", nil
}

// classify reads the metadata a FUSE mounter keeps on an object (s3fs's
// mode, uid and gid; geesefs's symlink target) and says whether the mount
// shows it as the file type wanted, with the permission the reader needs
// (read for a file, search for a directory): Regular if so, else Doubtful.
func (s Store) classify(meta map[string]string, fileType, need uint64) (Kind, string) {
	for k := range meta {
		if strings.Contains(strings.ToLower(k), "symlink") {
			return Doubtful, "the object is a symbolic link (metadata " + k + ")"
		}
	}
	raw, ok := meta["mode"]
	if !ok {
		return Doubtful, "the object has no mode metadata, so the mount decides its permissions"
	}
	mode, err := strconv.ParseUint(raw, 10, 32)
	switch {
	case err != nil:
		return Doubtful, fmt.Sprintf("the object's mode metadata %q is not a number", raw)
	case mode&modeType != fileType && (fileType != modeDir || mode&modeType != 0):
		// s3fs keeps a directory marker's mode without its type bits:
		// the trailing slash of its key says it is a directory.
		return Doubtful, fmt.Sprintf("the object's mode %o is not of the type the mount must show (%o)", mode, fileType)
	case !s.allows(mode, meta, need):
		return Doubtful, fmt.Sprintf("the object's mode %o may not allow the reader (uid and gid %s)", mode, s.readerID())
	}
	return Regular, ""
}

// allows applies POSIX's class rule: the owner's bits when the reader owns
// the object, else the group's when it is in its group, else the others'.
// With no reader UID known, every class must allow it.
func (s Store) allows(mode uint64, meta map[string]string, need uint64) bool {
	owner, group, others := mode>>6&7, mode>>3&7, mode&7
	if s.Reader == nil {
		return owner&need != 0 && group&need != 0 && others&need != 0
	}
	id := strconv.FormatInt(*s.Reader, 10)
	switch {
	case meta["uid"] == id:
		return owner&need != 0
	case meta["gid"] == id:
		return group&need != 0
	}
	return others&need != 0
}

func (s Store) readerID() string {
	if s.Reader == nil {
		return "chosen by the platform"
	}
	return strconv.FormatInt(*s.Reader, 10)
}

// Open streams the object the HEAD saw; a GET that finds another object
// (replaced since) fails.
func (s Store) Open(ctx context.Context, key string, o Object) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)}
	if o.ETag != "" {
		in.IfMatch = aws.String(o.ETag)
	}
	out, err := s.Client.GetObject(ctx, in)
	if err != nil {
		return nil, err
	}
	if aws.ToInt64(out.ContentLength) != o.Size {
		out.Body.Close()
		return nil, fmt.Errorf("%s changed size from %d to %d bytes between HEAD and GET", key, o.Size, aws.ToInt64(out.ContentLength))
	}
	return out.Body, nil
}

func notFound(err error) bool {
	var nf *types.NotFound
	var nk *types.NoSuchKey
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &nf) || errors.As(err, &nk) || (errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound)
}

// Code is the store's error code for err, or its HTTP status: what a
// message may quote of a store error without quoting a request.
func Code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		return http.StatusText(re.HTTPStatusCode())
	}
	return "no response"
}

// Denied tells whether the store refused the credentials.
func Denied(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden":
			return true
		}
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusForbidden || re.HTTPStatusCode() == http.StatusUnauthorized)
}
