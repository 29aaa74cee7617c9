package store

import "testing"

// BenchmarkTermBytes: term extraction from OpenStack-like lines (the Bloom
// filter of every appended block runs it over each line).
func BenchmarkTermBytes(b *testing.B) {
	lines := []string{
		`2026-01-01 00:00:00.123 23456 INFO nova.compute.manager [req-3f2a0c1e-7b7d-4c4e-9a55-0e2b6f1d9c10 8a1f0e6c2b3d4e5f8a1f0e6c2b3d4e5f 0c1d2e3f4a5b6c7d0c1d2e3f4a5b6c7d - default default] [instance: 6b2e7f0a-1c3d-4e5f-8a9b-0c1d2e3f4a5b] Took 12.34 seconds to build instance.`,
		`2026-01-01 00:00:01.456 31337 ERROR cinder.volume.manager [req-9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d 1234567890abcdef1234567890abcdef fedcba0987654321fedcba0987654321 - default default] Failed to attach volume 0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d: Unable to connect to iSCSI target 10.2.33.4:3260`,
		`Jan  1 00:00:02 cmp017 kernel: [12345.678] Straße ÄÖÜ café naïve – IPv6 fe80::1%eth0 MAC 52:54:00:AB:CD:EF`,
	}
	var scratch [MaxTermLen + 8]byte
	n, size := 0, 0
	for _, l := range lines {
		size += len(l)
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		for _, l := range lines {
			TermBytes(l, scratch[:0], func(t []byte) { n += len(t) })
		}
	}
	if n == 0 {
		b.Fatal("no terms")
	}
}
