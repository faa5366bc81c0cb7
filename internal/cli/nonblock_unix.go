//go:build unix

package cli

import "syscall"

// nonblock opens a FIFO that slipped past the scan without blocking on it;
// readInput then refuses it as not a regular file.
const nonblock = syscall.O_NONBLOCK
