package bayes

import (
	"errors"
	"hash/maphash"
)

func maphashString(s string) uint64 { return maphash.String(seed, s) }

func errorsIs(err, target error) bool { return errors.Is(err, target) }
