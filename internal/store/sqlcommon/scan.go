package sqlcommon

import (
	"encoding/json"
	"fmt"
	"time"
)

// MSTime scans Unix milliseconds (or NULL) into a time; zero for NULL or 0.
type MSTime struct{ T *time.Time }

// Scan implements sql.Scanner.
func (m MSTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*m.T = time.Time{}
	case int64:
		*m.T = FromMS(x)
	default:
		return fmt.Errorf("time column holds %T", v)
	}
	return nil
}

// NullInt scans an integer that may be NULL (0).
type NullInt struct{ N *int64 }

// Scan implements sql.Scanner.
func (m NullInt) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*m.N = 0
	case int64:
		*m.N = x
	default:
		return fmt.Errorf("integer column holds %T", v)
	}
	return nil
}

// StrList keeps a string list as a JSON array in a TEXT column.
type StrList struct{ S *[]string }

// Scan implements sql.Scanner.
func (j StrList) Scan(v any) error {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = x
	case nil:
		*j.S = nil
		return nil
	default:
		return fmt.Errorf("list column holds %T", v)
	}
	*j.S = nil
	return json.Unmarshal(b, j.S)
}
