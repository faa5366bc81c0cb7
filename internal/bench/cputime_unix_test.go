//go:build unix

package bench

import "syscall"

// cpuTime is the process's user+system CPU time in nanoseconds. On a
// shared machine wall time per op includes waiting for a core; CPU time
// does not, so the base benchmarks report both.
func cpuTime() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
