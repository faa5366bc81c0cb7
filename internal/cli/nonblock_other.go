//go:build !unix

package cli

const nonblock = 0
