package crypto

import (
	"encoding/binary"
	"slices"
	"strings"
	"unicode/utf8"
)

// Protocol labels. Every hash, PRF and signature input starts with one of
// them, so no value computed for one purpose can be replayed as another.
const (
	// ProtocolLabel names the protocol and its version inside info.
	ProtocolLabel     = "hisoka/v1"
	descriptorLabel   = "hisoka/v1 descriptor"
	tagKeyLabel       = "hisoka/v1 tag key"
	payloadKeyLabel   = "hisoka/v1 payload key"
	counterKeyLabel   = "hisoka/v1 counter key"
	payloadEntryLabel = "hisoka/v1 payload entry"
	payloadAADLabel   = "hisoka/v1 payload aad"
	dummyLabel        = "hisoka/v1 dummy entry"
	batchSigLabel     = "hisoka/v1 board batch signature"
	batchHashLabel    = "hisoka/v1 board batch hash"
	directorySigLabel = "hisoka/v1 key directory signature"
	keyIDLabel        = "hisoka/v1 key id"
	hpkeInfoLabel     = "hisoka/v1 hpke"
)

// MaxInputLen is RFC 9497's bound on a PRF input and on info: both are
// framed with a 16-bit length.
const MaxInputLen = 0xffff

// MaxTenantIDLen bounds tenant ids inside info.
const MaxTenantIDLen = 255

// Param is one parameter of a [Descriptor], drawn from the catalogue's fixed set.
type Param struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Descriptor is a subscription: a catalogue pattern on one resource, with
// optional parameters. Its canonical encoding ([Descriptor.MarshalBinary]) is
// the POPRF input.
type Descriptor struct {
	PatternID  string
	ResourceID string
	Params     []Param
}

// MarshalBinary returns the canonical encoding: the descriptor label, pattern
// id, resource id, parameter count and the parameters sorted by name, each
// string with a 16-bit big-endian length. Names must be unique, strings valid
// UTF-8, pattern and resource non-empty, and the whole at most [MaxInputLen].
func (d Descriptor) MarshalBinary() ([]byte, error) {
	if d.PatternID == "" || d.ResourceID == "" {
		return nil, ErrEmpty
	}
	ps := slices.Clone(d.Params)
	slices.SortFunc(ps, func(a, b Param) int { return strings.Compare(a.Name, b.Name) })
	size := 2 + len(descriptorLabel) + 4 + len(d.PatternID) + len(d.ResourceID) + 2
	for i, p := range ps {
		if p.Name == "" || (i > 0 && ps[i-1].Name == p.Name) {
			return nil, ErrMalformed
		}
		size += 4 + len(p.Name) + len(p.Value)
	}
	if len(ps) > maxField || size > MaxInputLen {
		return nil, ErrTooLarge
	}
	for _, s := range append([]string{d.PatternID, d.ResourceID}, paramStrings(ps)...) {
		if !utf8.ValidString(s) {
			return nil, ErrMalformed
		}
	}
	b := make([]byte, 0, size)
	b = appendString(b, descriptorLabel)
	b = appendString(b, d.PatternID)
	b = appendString(b, d.ResourceID)
	b = binary.BigEndian.AppendUint16(b, uint16(len(ps)))
	for _, p := range ps {
		b = appendString(b, p.Name)
		b = appendString(b, p.Value)
	}
	return b, nil
}

func paramStrings(ps []Param) []string {
	out := make([]string, 0, 2*len(ps))
	for _, p := range ps {
		out = append(out, p.Name, p.Value)
	}
	return out
}

// ParseDescriptor decodes a canonical descriptor encoding. Non-canonical
// input (unsorted or duplicate parameters, trailing bytes) is rejected, so
// every descriptor has exactly one encoding.
func ParseDescriptor(b []byte) (Descriptor, error) {
	if len(b) > MaxInputLen {
		return Descriptor{}, ErrTooLarge
	}
	r := reader{b: b}
	if r.text() != descriptorLabel {
		return Descriptor{}, ErrMalformed
	}
	var d Descriptor
	d.PatternID = r.text()
	d.ResourceID = r.text()
	n := int(r.u16())
	if r.bad || n > len(r.b)/4 {
		return Descriptor{}, ErrMalformed
	}
	if n > 0 {
		d.Params = make([]Param, 0, n)
	}
	for i := 0; i < n; i++ {
		p := Param{Name: r.text(), Value: r.text()}
		if r.bad || p.Name == "" || (i > 0 && d.Params[i-1].Name >= p.Name) {
			return Descriptor{}, ErrMalformed
		}
		d.Params = append(d.Params, p)
	}
	if !r.ok() || d.PatternID == "" || d.ResourceID == "" {
		return Descriptor{}, ErrMalformed
	}
	return d, nil
}

// Info returns the POPRF public input binding an evaluation to one tenant and
// one key period: the protocol label, the tenant id and the period, the
// strings length-prefixed and the period a 64-bit big-endian integer.
//
// The tenant id must come from the caller's authentication (the tenant's
// JWT), never from a request body.
func Info(tenantID string, period uint64) ([]byte, error) {
	if tenantID == "" {
		return nil, ErrEmpty
	}
	if len(tenantID) > MaxTenantIDLen || !utf8.ValidString(tenantID) {
		return nil, ErrMalformed
	}
	b := make([]byte, 0, 2+len(ProtocolLabel)+2+len(tenantID)+8)
	b = appendString(b, ProtocolLabel)
	b = appendString(b, tenantID)
	return binary.BigEndian.AppendUint64(b, period), nil
}

// ParseInfo decodes an encoding made by [Info].
func ParseInfo(b []byte) (tenantID string, period uint64, err error) {
	r := reader{b: b}
	if r.text() != ProtocolLabel {
		return "", 0, ErrMalformed
	}
	tenantID = r.text()
	period = r.u64()
	if !r.ok() || tenantID == "" || len(tenantID) > MaxTenantIDLen {
		return "", 0, ErrMalformed
	}
	return tenantID, period, nil
}
