package spec

import _ "embed"

// OpenAPI is the OpenAPI 3 document of the server's HTTP API
// (openapi.yaml), served at /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
