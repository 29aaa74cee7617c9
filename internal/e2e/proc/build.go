package proc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Binaries are the paths of the built commands.
type Binaries struct {
	Hisoka string // cmd/hisoka
	Tenant string // cmd/hisoka-tenant
}

var build struct {
	once sync.Once
	dir  string
	bins Binaries
	err  error
}

// Build compiles cmd/hisoka and cmd/hisoka-tenant once per test binary and
// returns their paths; a build failure fails t (and every later caller).
func Build(t testing.TB) Binaries {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "hisoka-e2e-bin-")
		if build.err != nil {
			return
		}
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goBin); err != nil {
			if goBin, err = exec.LookPath("go"); err != nil {
				build.err = fmt.Errorf("proc: the go command is needed to build the binaries: %w", err)
				return
			}
		}
		cmd := exec.Command(goBin, "build", "-o", build.dir+string(filepath.Separator),
			"github.com/hisoka-project/hisoka/cmd/hisoka", "github.com/hisoka-project/hisoka/cmd/hisoka-tenant")
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("proc: go build: %w\n%s", err, out)
			return
		}
		build.bins = Binaries{Hisoka: filepath.Join(build.dir, "hisoka"), Tenant: filepath.Join(build.dir, "hisoka-tenant")}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bins
}

// Main runs the tests of m and then removes the binaries [Build] made;
// call it from TestMain: os.Exit(proc.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	return code
}
