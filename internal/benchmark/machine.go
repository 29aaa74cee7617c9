package benchmark

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Machine describes where the figures were taken.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	// MemoryBytes is the RAM the kernel reports (0 when unknown).
	MemoryBytes uint64 `json:"memory_bytes"`
	Go          string `json:"go"`
	OS          string `json:"os"`
	Kernel      string `json:"kernel,omitempty"`
	// Commit is the source revision, from the build or else from git in the
	// working directory ("" when unknown); "+dirty" marks local changes.
	Commit string `json:"commit,omitempty"`
}

// Describe returns the description of this machine and build.
func Describe(ctx context.Context) Machine {
	m := Machine{
		CPU:        firstField("/proc/cpuinfo", "model name", ':'),
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Go:         runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		Commit:     commit(ctx),
	}
	if m.CPU == "" {
		m.CPU = runtime.GOARCH
	}
	if kb := firstField("/proc/meminfo", "MemTotal", ':'); kb != "" {
		var v uint64
		if _, err := fmt.Sscan(strings.TrimSuffix(kb, " kB"), &v); err == nil {
			m.MemoryBytes = v << 10
		}
	}
	if pretty := strings.Trim(firstField("/etc/os-release", "PRETTY_NAME", '='), `"`); pretty != "" {
		m.OS = pretty + ", " + m.OS
	}
	if rel, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(rel))
	}
	return m
}

// commit is the VCS revision stamped into the build, or else the one git
// reports for the working directory (as when run with "go run" from a
// checkout, or where builds are not stamped).
func commit(ctx context.Context) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			if modified == "true" {
				rev += "+dirty"
			}
			return rev
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	rev := strings.TrimSpace(string(out))
	// "git diff --quiet HEAD" exits 1 when tracked files differ from HEAD.
	if err := exec.CommandContext(ctx, "git", "diff", "--quiet", "HEAD").Run(); err != nil {
		rev += "+dirty"
	}
	return rev
}

// firstField returns the value of the first "key<sep>value" line of file.
func firstField(file, key string, sep byte) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), string(sep))
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
