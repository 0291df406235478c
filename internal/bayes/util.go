package bayes

import (
	"errors"

	"github.com/cespare/xxhash/v2"
)

// Tokens are known by a 64-bit hash in memory and in snapshots (snapshot.go).
// The hash is fixed (XXH64, seed 0), not per process, so a snapshot written by
// one process is read by another; changing it needs a new snapshot version.
func hashString(s string) uint64 { return xxhash.Sum64String(s) }

func hashBytes(b []byte) uint64 { return xxhash.Sum64(b) }

func errorsIs(err, target error) bool { return errors.Is(err, target) }
