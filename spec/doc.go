// Package spec is Hisoka's contract: the normative documents beside this file
// (protocol.md, the OpenAPI document, the catalogue format) and the wire types
// that the server and the tenant SDK share.
//
// Tests in this package keep the documents and the code from drifting apart.
package spec
