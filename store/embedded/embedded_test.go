package embedded

import (
	"testing"

	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/storetest"
)

func openTest(t *testing.T, o storetest.Options) store.Store {
	s, err := Open(t.TempDir(), Options{Signer: o.Signer, CheckpointEvery: o.CheckpointEvery, Now: o.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSuite(t *testing.T) { storetest.Run(t, openTest) }
