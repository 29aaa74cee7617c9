//go:build !unix

package matcher

import "time"

// cpuTime is not measured on this platform; lines/cpu-s is not reported.
func cpuTime() time.Duration { return 0 }
