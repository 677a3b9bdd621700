package resultmaterialize

import (
	"fmt"
	"strconv"
	"strings"
)

var quantitySuffixes = []struct {
	suffix string
	factor int64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30},
	{"k", 1000}, {"M", 1000 * 1000}, {"G", 1000 * 1000 * 1000},
}

// ParseQuantity parses a byte count written as Kubernetes writes quantities
// of bytes: a non-negative integer with an optional suffix Ki, Mi, Gi, k, M
// or G ("4Ki", "1000"). Fractions, exponents, signs and other suffixes such
// as "KB" are refused so that a typo never silently becomes another size.
func ParseQuantity(s string) (int64, error) {
	digits, factor := s, int64(1)
	for _, q := range quantitySuffixes {
		if strings.HasSuffix(s, q.suffix) {
			digits, factor = strings.TrimSuffix(s, q.suffix), q.factor
			break
		}
	}
	if digits == "" || strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, fmt.Errorf("%q is not a byte quantity: want a non-negative integer with an optional suffix Ki, Mi, Gi, k, M or G", s)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > MaxThreshold*1024/factor {
		return 0, fmt.Errorf("%q is too large to be a byte quantity", s)
	}
	return n * factor, nil
}

// ParseThreshold parses an inline threshold and checks it is at most
// MaxThreshold.
func ParseThreshold(s string) (int64, error) {
	n, err := ParseQuantity(s)
	if err != nil {
		return 0, err
	}
	if n > MaxThreshold {
		return 0, fmt.Errorf("%q is %d bytes, above the limit of %d bytes (1Mi)", s, n, MaxThreshold)
	}
	return n, nil
}
