package model

import (
	"sort"
	"strconv"
	"strings"
)

// Context names. Which contexts are signalling code, atomic, or run under
// reclaim is kernel knowledge and lives in internal/kernel.
const (
	CtxIoctl        = "ioctl"
	CtxProcess      = "process"
	CtxWorker       = "worker"
	CtxKthread      = "kthread"
	CtxRunJob       = "run_job"
	CtxFreeJob      = "free_job"
	CtxTimedoutJob  = "timedout_job"
	CtxPrepareJob   = "prepare_job"
	CtxIRQ          = "irq"
	CtxSoftIRQ      = "softirq"
	CtxIRQWork      = "irq_work"
	CtxIRQNoThread  = "irq_nothread"
	CtxFenceCB      = "fence_callback"
	CtxNotifier     = "notifier"
	CtxShrinkCount  = "shrinker_count"
	CtxShrinkScan   = "shrinker_scan"
	CtxFaultHandler = "fault_handler"
	CtxReclaim      = "reclaim"
	CtxInit         = "init"
	CtxPrime        = "prime"
	CtxHelper       = "helper"
)

// enumSets are the closed vocabularies checked by the loader and published
// in the JSON Schema.
var enumSets = map[string][]string{
	"lockkind":      {"mutex", "spinlock", "raw_spinlock", "rwsem", "rwlock", "ww_mutex", "local_lock", "rcu", "rcu_bh", "rcu_sched", "srcu", "semaphore", "map"},
	"irqop":         {"disable", "enable", "save", "restore"},
	"bhop":          {"disable", "enable"},
	"lockirq":       {"disable", "save", "bh", "enable", "restore"},
	"enginekind":    {"gfx", "compute", "copy", "video", "paging"},
	"placement":     {"system", "vram"},
	"usage":         {"KERNEL", "WRITE", "READ", "BOOKKEEP"},
	"scope":         {"nofs", "noio", "noreclaim"},
	"mode":          {"write", "read", "recursive_read"},
	"vmop":          {"map", "unmap", "remap"},
	"analysismode":  {"precise", "lockdep"},
	"kernelversion": kernelVersions(),
	"uaccess":       {"read", "write"},
	"schedtimeout":  {"default", "infinite"},
	"perkind":       {"buffer", "vm", "userptr", "dmabuf", "device", "engine", "job"},
	"context": {CtxIoctl, CtxProcess, CtxWorker, CtxKthread, CtxRunJob, CtxFreeJob,
		CtxTimedoutJob, CtxPrepareJob, CtxIRQ, CtxIRQNoThread, CtxSoftIRQ, CtxIRQWork, CtxFenceCB, CtxNotifier, CtxShrinkCount,
		CtxShrinkScan, CtxFaultHandler, CtxReclaim, CtxInit, CtxPrime, CtxHelper},
}

// GFP bits, as in include/linux/gfp_types.h (K11). Only the bits that
// change reclaim behaviour matter to the model; the rest are accepted so
// that real flag expressions can be pasted in.
const (
	GFPDirectReclaim uint32 = 1 << iota
	GFPKswapdReclaim
	GFPIO
	GFPFS
	GFPHigh
	GFPNoLockdep
	GFPOther
)

// gfpFlags maps every accepted token to its bits.
var gfpFlags = map[string]uint32{
	"GFP_KERNEL":           GFPDirectReclaim | GFPKswapdReclaim | GFPIO | GFPFS,
	"GFP_KERNEL_ACCOUNT":   GFPDirectReclaim | GFPKswapdReclaim | GFPIO | GFPFS,
	"GFP_USER":             GFPDirectReclaim | GFPKswapdReclaim | GFPIO | GFPFS,
	"GFP_HIGHUSER":         GFPDirectReclaim | GFPKswapdReclaim | GFPIO | GFPFS,
	"GFP_HIGHUSER_MOVABLE": GFPDirectReclaim | GFPKswapdReclaim | GFPIO | GFPFS,
	"GFP_NOFS":             GFPDirectReclaim | GFPKswapdReclaim | GFPIO,
	"GFP_NOIO":             GFPDirectReclaim | GFPKswapdReclaim,
	"GFP_NOWAIT":           GFPKswapdReclaim,
	"GFP_ATOMIC":           GFPHigh | GFPKswapdReclaim,
	"GFP_DMA32":            GFPOther,
	"__GFP_RECLAIM":        GFPDirectReclaim | GFPKswapdReclaim,
	"__GFP_DIRECT_RECLAIM": GFPDirectReclaim,
	"__GFP_KSWAPD_RECLAIM": GFPKswapdReclaim,
	"__GFP_IO":             GFPIO,
	"__GFP_FS":             GFPFS,
	"__GFP_HIGH":           GFPHigh,
	"__GFP_NOLOCKDEP":      GFPNoLockdep,
	"__GFP_NORETRY":        GFPOther,
	"__GFP_RETRY_MAYFAIL":  GFPOther,
	"__GFP_NOWARN":         GFPOther,
	"__GFP_NOFAIL":         GFPOther,
	"__GFP_ZERO":           GFPOther,
	"__GFP_COMP":           GFPOther,
	"__GFP_ACCOUNT":        GFPOther,
}

// ParseGFP parses a flag expression such as "GFP_KERNEL | __GFP_NORETRY".
// It returns the bits and the first unknown token, if any.
func ParseGFP(s string) (bits uint32, bad string) {
	parts := strings.Split(s, "|")
	for _, p := range parts {
		p = strings.TrimSpace(p)
		b, ok := gfpFlags[p]
		if !ok {
			return 0, p
		}
		bits |= b
	}
	return bits, ""
}

// GFPTokens lists the accepted GFP tokens, sorted.
func GFPTokens() []string {
	out := make([]string, 0, len(gfpFlags))
	for k := range gfpFlags {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// gfpPattern is the JSON Schema pattern equivalent of ParseGFP.
func gfpPattern() string {
	alt := strings.Join(GFPTokens(), "|")
	return `^\s*(` + alt + `)(\s*\|\s*(` + alt + `))*\s*$`
}

// validEnum checks v against set; the GFP set is an expression language.
func validEnum(set, v string) (ok bool, allowed []string, bad string) {
	if set == "gfp" {
		if _, bad := ParseGFP(v); bad != "" {
			return false, GFPTokens(), bad
		}
		return true, nil, ""
	}
	vals := enumSets[set]
	for _, a := range vals {
		if a == v {
			return true, vals, ""
		}
	}
	return false, vals, v
}

// kernelVersions lists the mainline releases a scenario may name as its
// kernel (5.0 to 7.0); internal/kernel maps each to its lockdep profile.
// KernelVersions lists the kernel releases with a profile (kernel:
// {version:}), oldest first.
func KernelVersions() []string { return kernelVersions() }

func kernelVersions() []string {
	var out []string
	for minor := 0; minor <= 19; minor++ {
		out = append(out, "5."+strconv.Itoa(minor))
	}
	for minor := 0; minor <= 19; minor++ {
		out = append(out, "6."+strconv.Itoa(minor))
	}
	return append(out, "7.0")
}
