package store_test

import (
	"testing"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/store"
)

// A tenant the store accepts must be one the token protocol can serve:
// otherwise it could register but never receive a board batch.
func TestTenantBoundIsTheProtocols(t *testing.T) {
	if store.MaxTenantLen != crypto.MaxTenantIDLen {
		t.Fatalf("store.MaxTenantLen = %d, crypto.MaxTenantIDLen = %d", store.MaxTenantLen, crypto.MaxTenantIDLen)
	}
}
