// Package buckets is what the test CSI driver does to buckets beyond
// reading them: make and empty a volume's prefix. The client, the
// credentials and the volume handle's parsing are the product's
// (pkg/objectstore).
package buckets

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// EnsurePrefix makes the bucket if it is missing and writes the prefix's
// directory marker, as k8s-csi-s3 does, so a mounter sees the prefix as a
// directory before anything is written in it.
func EnsurePrefix(ctx context.Context, client *s3.Client, bucket, prefix string) error {
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		var missing *types.NotFound
		if !errors.As(err, &missing) {
			return fmt.Errorf("looking for bucket %q: %w", bucket, err)
		}
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			return fmt.Errorf("creating bucket %q: %w", bucket, err)
		}
	}
	if prefix == "" {
		return nil
	}
	_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + "/"), Body: strings.NewReader("")})
	if err != nil {
		return fmt.Errorf("writing the directory marker of %s/%s: %w", bucket, prefix, err)
	}
	return nil
}

// RemovePrefix deletes every object under the prefix and its marker.
func RemovePrefix(ctx context.Context, client *s3.Client, bucket, prefix string) error {
	if prefix == "" {
		return fmt.Errorf("refusing to empty the whole bucket %q", bucket)
	}
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix + "/")})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing %s/%s: %w", bucket, prefix, err)
		}
		for _, object := range page.Contents {
			if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: object.Key}); err != nil {
				return fmt.Errorf("deleting %s/%s: %w", bucket, aws.ToString(object.Key), err)
			}
		}
	}
	return nil
}
