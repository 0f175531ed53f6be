package dynamostore

import (
	"encoding/base64"
	"fmt"
	"unicode/utf8"
)

// A cursor is the last sk of a page, base64url-encoded: the pk is the
// query's, so sk alone rebuilds DynamoDB's ExclusiveStartKey.

func encodeCursor(sk string) string { return base64.RawURLEncoding.EncodeToString([]byte(sk)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 || !utf8.Valid(b) {
		return "", fmt.Errorf("store: bad cursor %q", c)
	}
	return string(b), nil
}
